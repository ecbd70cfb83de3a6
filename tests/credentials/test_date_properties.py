"""Properties of the date and status rules (services/credentials/dates.py and validation.py),
checked by Hypothesis over generated days, months, versions and credential types; no
database. The examples of tests/credentials/test_dates.py pin single cases; these say what
holds for all of them.

Every test runs under DETERMINISTIC (derandomized, no example database): each run tries
the same examples, so CI is reproducible.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from models.credential import ApprovalStatus, CredentialVersion
from models.credential_type import CredentialType, FieldRule
from services.credentials.dates import (
    ExpiryStatus,
    add_months,
    effective_version,
    expiry_status,
    is_valid_on,
    version_that_counts,
)
from services.credentials.errors import CredentialErrorCode
from services.credentials.settings import MAX_EXPIRING_SOON_DAYS
from services.credentials.types import MAX_VALIDITY_MONTHS
from services.credentials.validation import MAX_CREDENTIAL_NUMBER, VersionDetails, validated
from services.errors import DomainError, DomainErrors
from services.text import has_control_characters

DETERMINISTIC = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)

# The last day whose month still has MAX_VALIDITY_MONTHS months after it in the calendar.
LAST_SAFE_ISSUE_DATE = date(date.max.year - MAX_VALIDITY_MONTHS // 12, 12, 31)

# Days anywhere in the calendar, with the ends of months and of the calendar over-drawn.
days = st.one_of(
    st.dates(),
    st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31)),
    st.sampled_from([date.min, date.max]),
    st.builds(
        lambda year, month: date(year, month, calendar.monthrange(year, month)[1]),
        st.integers(min_value=1, max_value=9999),
        st.integers(min_value=1, max_value=12),
    ),
)
months = st.integers(min_value=-MAX_VALIDITY_MONTHS, max_value=MAX_VALIDITY_MONTHS)
windows = st.integers(min_value=0, max_value=MAX_EXPIRING_SOON_DAYS)
statuses = st.sampled_from(ApprovalStatus)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _in_calendar(start: date, months_ahead: int) -> bool:
    """Whether the month `months_ahead` after `start`'s is a month of the calendar."""
    return _month_index(date.min) <= _month_index(start) + months_ahead <= _month_index(date.max)


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


# --- add_months ------------------------------------------------------------------------


@DETERMINISTIC
@given(start=days, months_ahead=months)
def test_add_months_lands_that_many_months_ahead_and_never_past_the_month_end(
    start: date, months_ahead: int
) -> None:
    # given a day and a number of months that stay in the calendar
    assume(_in_calendar(start, months_ahead))
    # when they are added
    result = add_months(start, months_ahead)
    # then the result is in the month that many months ahead, on the same day of the
    # month, or on that month's last day when it is shorter
    assert _month_index(result) == _month_index(start) + months_ahead
    assert result.day == min(start.day, _last_day(result))
    assert result.day <= _last_day(result)


@DETERMINISTIC
@given(start=days, first=months, then=months)
def test_adding_months_in_two_steps_never_overtakes_one_step(
    start: date, first: int, then: int
) -> None:
    # given a day and two numbers of months that stay in the calendar
    assume(_in_calendar(start, first) and _in_calendar(start, first + then))
    # when they are added in two steps, and at once
    middle = add_months(start, first)
    in_two_steps = add_months(middle, then)
    at_once = add_months(start, first + then)
    # then both land in the same month; a day clamped on the way stays clamped (the two
    # steps can only end earlier), and nothing differs when the middle was not clamped
    assert _month_index(in_two_steps) == _month_index(at_once)
    assert in_two_steps <= at_once
    if middle.day == start.day:
        assert in_two_steps == at_once


@DETERMINISTIC
@given(earlier=days, later=days, months_ahead=months)
def test_add_months_keeps_the_order_of_days(earlier: date, later: date, months_ahead: int) -> None:
    # given two days in order and months that keep both in the calendar
    earlier, later = min(earlier, later), max(earlier, later)
    assume(_in_calendar(earlier, months_ahead) and _in_calendar(later, months_ahead))
    # when the months are added to both / then their order is kept
    assert add_months(earlier, months_ahead) <= add_months(later, months_ahead)


@DETERMINISTIC
@given(start=days)
def test_adding_no_months_changes_nothing(start: date) -> None:
    # given any day / when no months are added / then it is the same day
    assert add_months(start, 0) == start


# --- expiry status ---------------------------------------------------------------------

_ORDER = {ExpiryStatus.VALID: 0, ExpiryStatus.EXPIRING_SOON: 1, ExpiryStatus.EXPIRED: 2}


@DETERMINISTIC
@given(expires=days, first_day=days, second_day=days, window=windows, status=statuses)
def test_expiry_status_only_moves_forward_as_the_days_pass(
    expires: date, first_day: date, second_day: date, window: int, status: ApprovalStatus
) -> None:
    # given a version that expires on a day, and two days in order
    version = CredentialVersion(
        number=1, approval_status=status, issue_date=None, expiry_date=expires
    )
    sooner, later = min(first_day, second_day), max(first_day, second_day)
    # when its status is asked for on both days
    before = expiry_status(version, sooner, window)
    after = expiry_status(version, later, window)
    # then it never goes back: VALID, then EXPIRING_SOON, then EXPIRED
    assert before is not None
    assert after is not None
    assert _ORDER[before] <= _ORDER[after], (sooner, before, later, after)


@st.composite
def days_around_the_window(draw: st.DrawFn, expires: date, window: int) -> date:
    """Any day, or one on or next to an edge of the window before `expires`."""
    days_before = draw(st.sampled_from([-1, 0, 1, window - 1, window, window + 1]))
    near_an_edge = date.fromordinal(
        min(max(expires.toordinal() - days_before, 1), date.max.toordinal())
    )
    return draw(st.one_of(st.just(near_an_edge), days))


@DETERMINISTIC
@given(data=st.data(), expires=days, window=windows)
def test_expiry_status_follows_the_expiry_date_and_the_window(
    data: st.DataObject, expires: date, window: int
) -> None:
    # given a version that expires on a day, and a day (often on an edge of the window)
    version = CredentialVersion(
        number=1, approval_status=ApprovalStatus.APPROVED, expiry_date=expires
    )
    on = data.draw(days_around_the_window(expires, window), label="on")
    # when its status is asked for on that day
    status = expiry_status(version, on, window)
    # then it is EXPIRED after the expiry date, EXPIRING_SOON within the window before it
    # (the expiry date included), VALID before the window
    if on > expires:
        assert status is ExpiryStatus.EXPIRED, (on, status)
    elif (expires - on).days <= window:
        assert status is ExpiryStatus.EXPIRING_SOON, (on, status)
    else:
        assert status is ExpiryStatus.VALID, (on, status)


@DETERMINISTIC
@given(on=days, window=windows, status=statuses)
def test_without_an_expiry_date_the_status_is_no_expiry_on_every_day(
    on: date, window: int, status: ApprovalStatus
) -> None:
    # given a version without an expiry date / when its status is asked for on any day
    version = CredentialVersion(number=1, approval_status=status, expiry_date=None)
    # then it never expires
    assert expiry_status(version, on, window) is ExpiryStatus.NO_EXPIRY


# --- the effective version and the version that counts ---------------------------------


@st.composite
def version_lists(draw: st.DrawFn) -> list[CredentialVersion]:
    """A credential's versions, numbered 1..n in any list order, with dates in any order
    (issue after expiry included: older data may hold it) or missing."""
    count = draw(st.integers(min_value=0, max_value=6))
    versions = [
        CredentialVersion(
            number=number,
            approval_status=draw(statuses),
            issue_date=draw(st.none() | days),
            expiry_date=draw(st.none() | days),
        )
        for number in range(1, count + 1)
    ]
    return draw(st.permutations(versions))


@DETERMINISTIC
@given(versions=version_lists(), on=days)
def test_the_effective_version_is_the_latest_approved_one_valid_that_day(
    versions: list[CredentialVersion], on: date
) -> None:
    # given a credential's versions / when the effective version on a day is asked for
    effective = effective_version(versions, on)
    valid = [v for v in versions if is_valid_on(v, on)]
    # then it is approved, issued by that day and not expired on it ...
    if effective is not None:
        assert effective in versions
        assert effective.approval_status is ApprovalStatus.APPROVED
        assert effective.issue_date is None or effective.issue_date <= on
        assert effective.expiry_date is None or on <= effective.expiry_date
    # ... and the latest such; there is none only when no version is valid that day
    assert (effective is None) == (not valid)
    assert all(v.number <= effective.number for v in valid if effective is not None)


@DETERMINISTIC
@given(versions=version_lists(), on=days)
def test_the_version_that_counts_is_the_effective_one_when_there_is_one(
    versions: list[CredentialVersion], on: date
) -> None:
    # given a credential's versions / when the version that counts on a day is asked for
    counts = version_that_counts(versions, on)
    effective = effective_version(versions, on)
    # then it is the effective version if there is one; otherwise, of the versions, the
    # latest approved one already issued, else the latest approved, else the latest
    if not versions:
        assert counts is None
        return
    assert counts is not None
    assert counts in versions
    if effective is not None:
        assert counts is effective
        return
    approved = [v for v in versions if v.approval_status is ApprovalStatus.APPROVED]
    issued = [v for v in approved if v.issue_date is None or v.issue_date <= on]
    candidates = issued or approved or versions
    assert counts.number == max(v.number for v in candidates)


# --- validation ------------------------------------------------------------------------


@st.composite
def credential_types(draw: st.DrawFn, *, proposing: bool = False) -> CredentialType:
    """Types as services/credentials/types.py lets them be stored: a type that never
    expires does not use the expiry date and proposes none; a default validity needs the
    issue date. `proposing`: only types with a default validity."""
    never_expires = False if proposing else draw(st.booleans())
    rules = [FieldRule.REQUIRED, FieldRule.OPTIONAL] if proposing else list(FieldRule)
    issue_rule = draw(st.sampled_from(rules))
    validities = st.integers(min_value=1, max_value=MAX_VALIDITY_MONTHS)
    if never_expires:
        expiry_rule, validity = FieldRule.NOT_USED, None
    else:
        expiry_rule = draw(st.sampled_from([FieldRule.REQUIRED, FieldRule.OPTIONAL]))
        validity = (
            None
            if issue_rule is FieldRule.NOT_USED
            else draw(validities if proposing else st.none() | validities)
        )
    return CredentialType(
        name="Type",
        issue_date_rule=issue_rule,
        expiry_date_rule=expiry_rule,
        media_rule=FieldRule.OPTIONAL,
        never_expires=never_expires,
        default_validity_months=validity,
    )


def _details(issue_days: st.SearchStrategy[date]) -> st.SearchStrategy[VersionDetails]:
    return st.builds(
        VersionDetails,
        issue_date=st.none() | issue_days,
        expiry_date=st.none() | days,
        # none, short, around the longest allowed (trimmed first), or blank
        credential_number=st.none()
        | st.text(max_size=20)
        | st.text(min_size=MAX_CREDENTIAL_NUMBER - 1, max_size=MAX_CREDENTIAL_NUMBER + 2)
        | st.just(" " * (MAX_CREDENTIAL_NUMBER + 3)),
    )


# Issue dates early enough for the longest default validity to end in the calendar.
safe_details = _details(days.filter(lambda day: day <= LAST_SAFE_ISSUE_DATE))


def _codes(error: DomainError | DomainErrors) -> set[tuple[CredentialErrorCode, str | None]]:
    errors = error.errors if isinstance(error, DomainErrors) else [error]
    return {(CredentialErrorCode(e.code), e.field) for e in errors}


def _validate(
    details: VersionDetails, credential_type: CredentialType, propose: bool
) -> VersionDetails | set[tuple[CredentialErrorCode, str | None]]:
    """The stored details, or the (code, field) pairs of the refusal."""
    try:
        return validated(details, credential_type, propose_expiry=propose)
    except (DomainError, DomainErrors) as error:
        return _codes(error)


def _expected_expiry(
    details: VersionDetails, credential_type: CredentialType, propose: bool
) -> date | None:
    months_ahead = credential_type.default_validity_months
    if (
        propose
        and details.expiry_date is None
        and details.issue_date is not None
        and months_ahead is not None
        and not credential_type.never_expires
    ):
        return add_months(details.issue_date, months_ahead)
    return details.expiry_date


def _refusals(
    details: VersionDetails, credential_type: CredentialType, expiry: date | None
) -> set[tuple[CredentialErrorCode, str | None]]:
    """What validated() must refuse, as (code, field) pairs, given the expiry to store."""
    expiry_rule = FieldRule.NOT_USED if credential_type.never_expires else None
    rules = [
        (credential_type.issue_date_rule, details.issue_date, "issueDate"),
        (expiry_rule or credential_type.expiry_date_rule, expiry, "expiryDate"),
    ]
    refusals: set[tuple[CredentialErrorCode, str | None]] = set()
    for rule, value, field in rules:
        if rule is FieldRule.REQUIRED and value is None:
            refusals.add((CredentialErrorCode.REQUIRED, field))
        if rule is FieldRule.NOT_USED and value is not None:
            refusals.add((CredentialErrorCode.NOT_USED, field))
    number = (details.credential_number or "").strip()
    if len(number) > MAX_CREDENTIAL_NUMBER or has_control_characters(number):
        refusals.add((CredentialErrorCode.INVALID, "credentialNumber"))
    if details.issue_date is not None and expiry is not None and expiry < details.issue_date:
        refusals.add((CredentialErrorCode.EXPIRY_BEFORE_ISSUE, "expiryDate"))
    return refusals


@DETERMINISTIC
@given(details=safe_details, credential_type=credential_types(), propose=st.booleans())
def test_validated_stores_only_details_that_follow_the_types_rules(
    details: VersionDetails, credential_type: CredentialType, propose: bool
) -> None:
    # given a version's details and its type (issue dates that leave room for a proposal)
    expiry = _expected_expiry(details, credential_type, propose)
    expected_refusals = _refusals(details, credential_type, expiry)
    # when they are validated
    outcome = _validate(details, credential_type, propose)
    # then it refuses exactly what breaks a rule, every problem at once ...
    if expected_refusals:
        assert outcome == expected_refusals
        return
    # ... and otherwise stores the details with the proposed expiry (issue + the default
    # validity, when proposing and no expiry was given), never an expiry before the issue
    # date, and the credential number trimmed (blank is none)
    assert isinstance(outcome, VersionDetails), outcome
    assert outcome.issue_date == details.issue_date
    assert outcome.expiry_date == expiry
    assert outcome.credential_number == ((details.credential_number or "").strip() or None)
    if outcome.issue_date is not None and outcome.expiry_date is not None:
        assert outcome.issue_date <= outcome.expiry_date
    for rule, value in [
        (credential_type.issue_date_rule, outcome.issue_date),
        (credential_type.expiry_date_rule, outcome.expiry_date),
    ]:
        assert value is not None or rule is not FieldRule.REQUIRED
        assert value is None or rule is not FieldRule.NOT_USED


@DETERMINISTIC
@given(details=safe_details, credential_type=credential_types())
def test_without_proposing_the_given_expiry_is_kept(
    details: VersionDetails, credential_type: CredentialType
) -> None:
    # given details and a type / when validated without proposing an expiry
    outcome = _validate(details, credential_type, propose=False)
    # then an accepted expiry is the one given (an edit that clears it clears it)
    if isinstance(outcome, VersionDetails):
        assert outcome.expiry_date == details.expiry_date


# An issue date so late that issue + the default validity passes 9999-12-31 once made
# add_months() raise ValueError, which reached clients as INTERNAL_SERVER_ERROR.
late_issue_dates = st.one_of(
    st.dates(min_value=LAST_SAFE_ISSUE_DATE + timedelta(days=1)),
    st.dates(min_value=date(date.max.year, 1, 1)),
)
details_to_propose_for = st.builds(
    VersionDetails,
    issue_date=late_issue_dates,
    credential_number=st.none() | st.text(max_size=MAX_CREDENTIAL_NUMBER),
)


@DETERMINISTIC
@example(
    details=VersionDetails(issue_date=date(9999, 6, 1)),
    credential_type=CredentialType(
        name="First aid",
        issue_date_rule=FieldRule.REQUIRED,
        expiry_date_rule=FieldRule.REQUIRED,
        never_expires=False,
        default_validity_months=36,
    ),
)
@given(details=details_to_propose_for, credential_type=credential_types(proposing=True))
def test_validated_refuses_with_domain_errors_only_even_at_the_end_of_the_calendar(
    details: VersionDetails, credential_type: CredentialType
) -> None:
    # given details without an expiry date, issued in the calendar's last century (often
    # its last year), and a type with a default validity
    # when they are validated with an expiry proposal
    outcome = _validate(details, credential_type, propose=True)
    # then the outcome is stored details or a refusal: never another exception
    assert isinstance(outcome, (VersionDetails, set))
