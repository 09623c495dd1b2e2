"""Service menu, requests, activities, aid and worker voice (built by the services issue)."""
