"""What every construct builds on, in ``stacks/constructs/`` and ``custom_resources/`` alike: cdk-nag
acknowledgements, lifecycle (removal policies, log groups), one-per-stack constructs and handler roles.

Imports run one way: stacks -> stacks.constructs -> custom_resources -> stacks.foundation -> stacks.settings
(checked by the import contracts in pyproject.toml).
"""
