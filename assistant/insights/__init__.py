"""Reports for content admins and CSMs built from events: content gaps."""
