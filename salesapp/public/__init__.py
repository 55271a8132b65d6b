"""The public site on a base domain (find your workspace) and the host-independent
health check: the pages that belong to the platform rather than to a tenant."""
