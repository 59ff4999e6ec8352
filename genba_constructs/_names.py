"""Physical names genba gives resources, claimed once per app: a collision stops synth with one line.

Two LogSearch or SyncVerification with the default subject, two LogArchive, two
HostMonitoring of one subject, or one alarm factory used across two stacks used to give two
resources the same physical name - accepted at synth, rejected at deploy. Every name genba
makes (alarm names, Glue databases, Athena workgroups, SSM parameters, ...) is claimed here,
per kind and per account and region (physical names are unique there), across every stack of
the app, and a second claim raises :class:`GenbaPropsError` naming both constructs.

Names that are tokens (resolved only at deploy) cannot be compared and are not claimed. An
environment-agnostic stack's account and region are tokens that all such stacks share, so
they count as one place: two of them may well be deployed to the same region.
"""

from __future__ import annotations

import weakref

from aws_cdk import Stack
from constructs import Construct, IConstruct

from genba_constructs._validation import GenbaPropsError, is_unresolved

# root construct (the App) -> (kind, account, region, name) -> the claiming construct's path
_CLAIMS: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str, str, str], str]] = weakref.WeakKeyDictionary()

# scope -> (its root, its stack's account and region, its path). A construct's place in the tree
# never changes once it is made, and each of these is a jsii round trip: an alarm factory claims
# one name per alarm from the same scope (2,400 round trips of a synth of 21 stacks, 30%).
_PLACES: weakref.WeakKeyDictionary[IConstruct, tuple[IConstruct, str, str, str]] = weakref.WeakKeyDictionary()


def claim_name(scope: Construct, kind: str, name: str, *, owner: str, child: str | None = None) -> None:
    """Claim ``name`` as the physical name of a ``kind`` (``"alarm name"``) made by ``scope``.

    :param owner: who makes it, for the message (``"AlarmFactory"``, ``"LogArchive"``).
    :param child: the id of the child of ``scope`` that will hold the name. Default: ``scope`` itself.
    :raises GenbaPropsError: when another construct of the app already claimed it.
    """
    if is_unresolved(name):
        return
    root, account, region, scope_path = _place(scope)
    claims = _CLAIMS.setdefault(root, {})
    key = (kind, account, region, name)
    path = f"{scope_path}/{child}" if child else scope_path
    first = claims.get(key)
    if first is not None and first != path:
        raise GenbaPropsError(
            f"{owner}: {kind} {name!r} of {path} is already used by {first}; give one of them another subject or name"
        )
    claims[key] = path


def _place(scope: Construct) -> tuple[IConstruct, str, str, str]:
    place = _PLACES.get(scope)
    if place is None:
        stack = Stack.of(scope)
        node = scope.node
        place = _PLACES[scope] = (node.root, str(stack.account), str(stack.region), node.path)
    return place
