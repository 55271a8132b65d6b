"""The operator console and the operator API on the main domain (issue 19).

The second front end of the operations: every action here calls the same function in
``salesapp.operations`` that the ``salesapp`` command calls, in the operator's name
(``Catalog.acting_as``). Long operations (moves, backups, restores, migrations) are
queued as jobs (``salesapp.operations.jobs``) that ``salesapp worker`` runs; the pages
show their progress. Served only on the main domain (the public site's host), under
``/operator``; an operator's session counts nowhere else, and no workspace's session
counts here.

This is the one web package allowed to import ``salesapp.operations`` (the import
contracts in .importlinter): the workspaces' request path never does.
"""


def includeme(config):
    config.include(".auth")  # request.operator, sign-in with two factors, CSRF
    config.include(".tenants")  # /operator/tenants: search, detail, actions
    config.include(".stores")  # /operator/stores, migration status, check, advice
    config.include(".oplog")  # /operator/operations: the operations log
    config.include(".jobs")  # /operator/jobs: the background jobs and their progress
    config.include(".tokens")  # /operator/tokens: operator API tokens
    config.include(".api")  # /operator/api: the operator API (token-authenticated)
