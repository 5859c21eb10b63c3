"""Patterns, limits and enumerations of the services' request members, and what each means.

They mirror botocore's service models (tests/unit/test_botocore_model.py walks the
models to keep them so) plus the service rules the models do not carry (reference
§1.2, §2). Patterns are anchored (botocore's are not) and never use lookaround,
which neither pydantic's Rust regex, Kubernetes' RE2 nor CEL accept; where
botocore's pattern has one, the comment gives it and the equivalent used here.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import StringConstraints

# --- SageMaker (botocore's, anchored; see the translation table in the walk test) ----
IC_NAME_PATTERN = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"
ENDPOINT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
IMAGE_PATTERN = r"^[\S]+$"
URL_PATTERN = r"^(https|s3)://([^/]+)/?(.*)$"
ENV_KEY_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
ENV_VALUE_PATTERN = r"^[\S\s]*$"
# botocore: /(?!.*\.\.)[a-zA-Z0-9/_.\-]+  -> this pattern + "no '..'" (rules.NO_PARENT_SEGMENTS)
METRICS_PATH_PATTERN = r"^/[a-zA-Z0-9/_.\-]+$"
ACCELERATOR_PARTITION_PATTERN = r"^mig-[0-9]+g\.[0-9]+gb([+-][a-z0-9.]+)*$"
# botocore: (?!\s*$).+  (not blank, one line) -> an equivalent pattern without lookahead
ALARM_NAME_PATTERN = r"^.*\S.*$"
TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
# --- Kubernetes object names (an endpointRef names an ACK Endpoint object) -----------
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"  # a DNS subdomain, 1-253
K8S_NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # a DNS label, 1-63

# --- Application Auto Scaling ----------------------------------------------------------
# botocore: [\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]* (XML text).
# The surrogate pair stands for the supplementary planes, which RE2 and Rust's regex
# write as code points; the walk test lists the translation.
XML_TEXT_PATTERN = r"^[\x{20}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}\r\n\t]*$"
# botocore: \p{Print}+ (Java: printable ASCII, space included).
POLICY_NAME_PATTERN = r"^[\x20-\x7E]+$"
# botocore: a lookahead meaning "no leading or trailing space, no control character,
# no ':', '/' or '|'" -> the same without lookaround.
_ACTION_CHAR = r"[^\x00-\x1f\x7f-\x9f:/|]"
_ACTION_EDGE = r"[^ \x00-\x1f\x7f-\x9f:/|]"
SCHEDULED_ACTION_NAME_PATTERN = rf"^{_ACTION_EDGE}({_ACTION_CHAR}*{_ACTION_EDGE})?$"
# at(...), rate(...) or cron(...), as PutScheduledAction documents Schedule.
SCHEDULE_FORM = r"^(at|rate|cron)\(.*\)$"

_NAME = "1-63 letters, digits and '-', starting and ending with a letter or digit"

# What each pattern means, for people who do not read regular expressions: a pattern
# error names the field and says this instead of quoting only the regex.
PATTERN_HINTS = {
    IC_NAME_PATTERN: _NAME,
    ENDPOINT_NAME_PATTERN: _NAME,
    IMAGE_PATTERN: "an image reference without whitespace",
    URL_PATTERN: "an s3:// or https:// URL",
    ENV_KEY_PATTERN: "letters, digits and '_', not starting with a digit",
    METRICS_PATH_PATTERN: "a path starting with '/' (letters, digits, '/', '_', '.', '-')",
    ACCELERATOR_PARTITION_PATTERN: "a MIG profile such as mig-3g.40gb",
    ALARM_NAME_PATTERN: "a non-blank alarm name on one line",
    TAG_PATTERN: "made of letters, digits, spaces and _ . : / = + - @",
    REGION_PATTERN: "an AWS Region such as us-east-1",
    K8S_NAME_PATTERN: "a Kubernetes object name: lower-case letters, digits, '-' and '.'",
    K8S_NAMESPACE_PATTERN: "a Kubernetes namespace: lower-case letters, digits and '-'",
    POLICY_NAME_PATTERN: "printable ASCII characters",
    SCHEDULED_ACTION_NAME_PATTERN: (
        "a name without leading or trailing spaces, control characters, ':', '/' or '|'"
    ),
    XML_TEXT_PATTERN: "text without control characters other than tab and newline",
}

# --- limits the service models do not carry -------------------------------------------
MAX_ENVIRONMENT_ENTRIES = 16
MAX_SPECIFICATIONS = 5
# AWS allows 50 tags; the operator keeps two for its ownership tags.
MAX_USER_TAGS = 48
MAX_BATCH_PERCENT = 50
MIN_BATCH_PERCENT = 5
MAX_ROLLBACK_BATCH_PERCENT = 100
MAX_POLICIES = 49  # Application Auto Scaling allows 50 per target; one is the operator's
MAX_SCHEDULED_ACTIONS = 200  # Application Auto Scaling's quota per scalable target

# --- constrained types -----------------------------------------------------------------
ComponentName = Annotated[str, StringConstraints(max_length=63, pattern=IC_NAME_PATTERN)]
EndpointOrVariantName = Annotated[
    str, StringConstraints(max_length=63, pattern=ENDPOINT_NAME_PATTERN)
]
ObjectName = Annotated[str, StringConstraints(max_length=253, pattern=K8S_NAME_PATTERN)]
NamespaceName = Annotated[str, StringConstraints(max_length=63, pattern=K8S_NAMESPACE_PATTERN)]
EnvKey = Annotated[str, StringConstraints(max_length=1024, pattern=ENV_KEY_PATTERN)]
EnvValue = Annotated[str, StringConstraints(max_length=1024, pattern=ENV_VALUE_PATTERN)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TAG_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=TAG_PATTERN)]
MetricPublishFrequency = Literal[10, 30, 60, 120, 180, 240, 300]
CapacitySizeType = Literal["COPY_COUNT", "CAPACITY_PERCENT"]
PredefinedMetricType = Literal[
    "SageMakerInferenceComponentInvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
]
INFERENCE_COMPONENT_METRICS: tuple[str, ...] = get_args(PredefinedMetricType)
MetricStatistic = Literal["Average", "Minimum", "Maximum", "SampleCount", "Sum"]


def xml_text(low: int | None = None, high: int | None = None) -> StringConstraints:
    """Application Auto Scaling's XML-text strings, with the member's length bounds."""
    return StringConstraints(min_length=low, max_length=high, pattern=XML_TEXT_PATTERN)
