"""The programme: KPIs against targets, their records, milestones and the live dashboard."""
