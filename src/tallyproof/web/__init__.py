"""The results dashboard: static pages and scripts the API serves at `/`, nothing to build."""
