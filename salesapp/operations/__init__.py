"""What the ``salesapp`` command runs: catalog administration, bootstrap, the embedded
server, migrations, provisioning, lifecycle, moves (mover, fence, table copy), archives,
checks, the live probe, statistics and the seeding of demo workspaces.

A web process never imports this package (development start-up does, lazily, to start
the embedded server and the demo tenants): the request path is :mod:`salesapp.tenancy`.
Each operation is a function the CLI and the tests call directly.
"""
