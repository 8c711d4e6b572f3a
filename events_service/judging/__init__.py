"""Competitions and judging: rounds, rubric, assignment, scores, ranking, winners."""
