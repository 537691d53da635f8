"""Read-only aggregates for the dashboard: new leads per day and source, the conversion funnel, webhook health."""
