"""What every operator command shares: AWS configuration flags, clear errors and documented exit statuses.

Exit statuses (docs/operations.md lists them):
    0  done
    1  the app reports a problem: a function failed or answered with an error, a check failed, AWS kept
       throttling after retries
    2  configuration or usage: no Region, no or expired credentials, access denied, the app is not
       (fully) deployed, a bad argument or setting

A failure prints what is wrong and how to fix it, in two lines; ``--debug`` adds the traceback. The status is
the same either way. Through ``make``, any failure exits 2 (make's own status) and make's last line names the
command's (``Error 1``); call ``python -m scripts.<command>`` to branch on it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from scripts.deployed import DeploymentError, settings_with
from stacks.settings import Settings, SettingsError

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

# Where the AWS CLI looks for a Region, in its order (AWS CLI user guide, "Configuration and credential file
# settings"): the command line, AWS_REGION, AWS_DEFAULT_REGION, then the profile. botocore itself reads only
# AWS_DEFAULT_REGION and the profile, so connect() reads AWS_REGION as the CLI does.
_REGION_FIX = "pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set a region in your profile (aws configure)"
_NO_CREDENTIALS_FIX = (
    "configure AWS credentials (aws configure, aws sso login, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY), or pass --profile"
)
_REFUSED_CREDENTIALS_FIX = "sign in again (aws sso login, or new keys in your environment), or pass --profile"
_EXPIRED_OR_INVALID = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
                       "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch"}  # fmt: skip
_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
              "ServiceQuotaExceededException", "ProvisionedThroughputExceededException"}  # fmt: skip


class OperatorError(Exception):
    """A failure the operator can act on: what is wrong, how to fix it, and the exit status."""

    def __init__(self, problem: str, fix: str, status: int = EXIT_USAGE) -> None:
        super().__init__(problem)
        self.problem, self.fix, self.status = problem, fix, status


@dataclass
class Operator:
    """The settings and AWS clients of one command run (one session, one Region)."""

    settings: Settings
    session: Any  # boto3.Session
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            # Standard retries back off on throttling; what is still throttled after them is reported.
            config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=70)
            self.clients[service] = self.session.client(service, config=config)
        return self.clients[service]

    @property
    def region(self) -> str:
        return str(self.session.region_name)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS Region (default: the standard AWS configuration chain)")
    parser.add_argument("--profile", help="AWS named profile (default: the standard AWS configuration chain)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser.add_argument("-c", "--context", action="append", default=[], help="app:key=value, as with cdk -c")


def connect(arguments: argparse.Namespace, *, needs_region: bool = True) -> Operator:
    settings = settings_with(arguments.context)
    region = arguments.region or os.environ.get("AWS_REGION") or None
    session = boto3.Session(profile_name=arguments.profile, region_name=region)
    if needs_region and not session.region_name:
        raise OperatorError("no AWS Region is configured", _REGION_FIX)
    return Operator(settings=settings, session=session)


def explain(error: BaseException) -> OperatorError:
    """The operator's view of a failure."""
    if isinstance(error, OperatorError):
        return error
    if isinstance(error, DeploymentError):
        return OperatorError(str(error), "deploy the app (make deploy), or pass the -c settings it was deployed with")
    if isinstance(error, SettingsError):
        return OperatorError(str(error), "fix the -c app:... argument or cdk.json")
    if isinstance(error, NoRegionError):
        return OperatorError("no AWS Region is configured", _REGION_FIX)
    if isinstance(error, ProfileNotFound):
        return OperatorError(str(error), "pass an existing --profile (aws configure list-profiles)")
    if isinstance(error, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
        return OperatorError(f"no usable AWS credentials ({error})", _NO_CREDENTIALS_FIX)
    if isinstance(error, EndpointConnectionError):
        return OperatorError(f"cannot reach AWS ({error})", "check the network and --region", EXIT_PROBLEM)
    if isinstance(error, ClientError):
        return _explain_client_error(error)
    return OperatorError(f"unexpected {type(error).__name__}: {error}", "run again with --debug", EXIT_PROBLEM)


def _explain_client_error(error: ClientError) -> OperatorError:
    details = error.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    operation = error.operation_name
    if code in _EXPIRED_OR_INVALID:
        return OperatorError(f"your AWS credentials were refused ({code}) by {operation}", _REFUSED_CREDENTIALS_FIX)
    if code in _ACCESS_DENIED or "not authorized to perform" in message:
        named = re.search(r"perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)", message)
        action = named[1] if named else operation
        return OperatorError(f"access denied: your identity may not call {action}",
                             f"ask an administrator to allow {action} on this app's resources")  # fmt: skip
    if code in _THROTTLED:
        return OperatorError(f"AWS kept throttling {operation} after retries ({code})",
                             "wait a minute and run the command again", EXIT_PROBLEM)  # fmt: skip
    return OperatorError(f"{operation} failed: {code}: {message}", "run again with --debug for details", EXIT_PROBLEM)


def run(
    parser: argparse.ArgumentParser,
    command: Callable[[argparse.Namespace, Operator], int],
    argv: list[str] | None = None,
    operator: Operator | None = None,
    offline: Callable[[argparse.Namespace], bool] = lambda _: False,
) -> int:
    """Parse the arguments, run the command, and turn any failure into its message and exit status. A command
    that can work without AWS for some arguments (``offline``) gets its operator even with no Region."""
    arguments = parser.parse_args(argv)
    try:
        return command(arguments, operator or connect(arguments, needs_region=not offline(arguments)))
    except Exception as error:  # every failure gets its message and status; --debug shows the rest
        explained = explain(error)
        if arguments.debug:  # the traceback, and still the documented status
            traceback.print_exc()
        print(f"error: {explained.problem}\n  fix: {explained.fix}", file=sys.stderr)
        return explained.status
