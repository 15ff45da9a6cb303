"""`make preflight ENV=<env>`: what an AWS account must have before a deploy, checked read-only.

    python -m tools.preflight --env staging [--assembly cdk.out] [--fix]

Reads the synthesised cloud assembly (what this change deploys) and the environment's config, and
checks with the credentials of the environment's account, in every region the environment uses (its
main region, us-east-1 for the edge, `backup.copy_region`):

- the credentials are for the environment's account (`identity`);
- the CDK bootstrap stack is there at the version the assembly requires (`bootstrap`);
- each quota the templates draw on has room for the increase this deployment causes (`quotas`);
- ECS's service-linked role, the certificates and the hosted zone the templates refer to
  (`prerequisites`);
- the secrets and image tags the services name (`images`);
- what cannot be checked without side effects, as manual steps with their link (`manual`).

One line per check: pass, fail (with what to do) or manual. Exit 0 when nothing failed, 1 when a
check failed, 2 when it cannot run (no credentials, an unreadable assembly, an invalid config).
Nothing is changed unless `--fix` is given, and then only ECS's service-linked role is created.
"""
