"""Request validation for the fake's model endpoints (spec §4, §11.1, §15.2).

:func:`validate_anthropic` and :func:`validate_openai` check a parsed JSON body the way
MiniMax does and return a :class:`ModelRequest` with everything the answer needs (model limits,
whether the model thinks, prompt blocks and input tokens). Anything MiniMax rejects raises
:class:`~.errors.ApiError`:

* unknown ``model`` → 404 ``not_found_error`` "Model does not exist.";
* schema problems (empty ``messages``, unknown block type, bad ``tool_choice`` key, …) → 400
  ``invalid_request_error``; unknown blocks read ``messages.N.content.M: unsupported content
  type 'x'``;
* out-of-range parameters, image/video on a text-only model, a bad thinking signature and
  context overflow → 400 ``bad_request_error`` ``invalid params, … (2013)``.

Ignored on purpose (MiniMax drops them): ``top_k``, ``stop_sequences``, ``metadata``,
``mcp_servers``, ``context_management``, ``container``, ``service_tier``, and on the OpenAI side
``stop``, penalties, ``logit_bias``, ``parallel_tool_calls``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import CONTEXT_OVERFLOW_MESSAGE, ApiError, invalid_params, invalid_request
from .ids import thinking_signature
from .models import ModelSpec, ThinkingPolicy
from .tokens import PromptBlock, anthropic_prompt_blocks, openai_prompt_blocks, total_tokens

Endpoint = Literal["anthropic", "openai"]

ANTHROPIC_ROLES = frozenset(
    {"user", "assistant", "user_system", "group", "sample_message_user", "sample_message_ai"}
)
ANTHROPIC_BLOCKS = frozenset(
    {"text", "image", "video", "tool_use", "tool_result", "thinking", "mid_conv_system"}
)
OPENAI_ROLES = frozenset({"system", "user", "assistant", "tool"})
OPENAI_PARTS = frozenset({"text", "image_url", "video_url"})
MEDIA_TYPES = frozenset({"image", "video", "image_url", "video_url"})
TOOL_CHOICES = frozenset({"auto", "none", "any", "tool"})
THINKING_TYPES = frozenset({"adaptive", "disabled", "enabled"})


@dataclass(frozen=True)
class ModelRequest:
    """A validated request to a model endpoint.

    Parameters
    ----------
    endpoint:
        ``"anthropic"`` or ``"openai"``.
    model, spec:
        Requested model id and its limits.
    stream:
        Whether an SSE answer was requested.
    max_tokens:
        Output cap (the model default when the request has none).
    thinking:
        Whether the model thinks on this request.
    tool_choice_none:
        ``tool_choice`` was ``none``: scripted tool calls are dropped.
    reasoning_split, include_usage:
        OpenAI options (``reasoning_split``, ``stream_options.include_usage``).
    blocks, input_tokens:
        The prompt in cache order and its total token count.
    last_user_text:
        Text of the last user message (drives the default reply).
    """

    endpoint: Endpoint
    model: str
    spec: ModelSpec
    stream: bool
    max_tokens: int
    thinking: bool
    tool_choice_none: bool
    reasoning_split: bool
    include_usage: bool
    blocks: tuple[PromptBlock, ...]
    input_tokens: int
    last_user_text: str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise invalid_request("request body must be a JSON object (2013)")
    return body


def _model(body: Mapping[str, Any], models: Mapping[str, ModelSpec]) -> tuple[str, ModelSpec]:
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise invalid_request("model: field required (2013)")
    spec = models.get(name)
    if spec is None:
        raise ApiError(404, "not_found_error", "Model does not exist.")
    return name, spec


def _messages(body: Mapping[str, Any]) -> Sequence[Any]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages: at least one message is required (2013)")
    return messages


def _sampling(body: Mapping[str, Any]) -> None:
    temperature = body.get("temperature")
    if temperature is not None and (not _is_number(temperature) or not 0 <= temperature <= 2):
        raise invalid_params("temperature must be in [0, 2]")
    top_p = body.get("top_p")
    if top_p is not None and (not _is_number(top_p) or not 0 <= top_p <= 1):
        raise invalid_params("top_p must be in [0, 1]")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request("stream: must be a boolean (2013)")


def _max_tokens(value: Any, spec: ModelSpec, field: str) -> int:
    if value is None:
        return spec.default_output
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_request(f"{field}: must be a positive integer (2013)")
    if value > spec.max_output:
        raise invalid_params(f"{field} exceeds the model limit of {spec.max_output}")
    return value


def _thinking_on(body: Mapping[str, Any], spec: ModelSpec, *, default_on: bool) -> bool:
    thinking = body.get("thinking")
    if thinking is None:
        return spec.thinking is ThinkingPolicy.ALWAYS or (
            default_on and spec.thinking is not ThinkingPolicy.NEVER
        )
    if not isinstance(thinking, Mapping) or thinking.get("type") not in THINKING_TYPES:
        raise invalid_request("thinking.type: must be one of adaptive, disabled (2013)")
    if spec.thinking is ThinkingPolicy.NEVER:
        return False  # M2-her: a dialogue model without reasoning
    if spec.thinking is ThinkingPolicy.ALWAYS:
        return True  # M2.x: "disabled" is accepted and ignored (§6.1)
    # "enabled" (Anthropic's classic form) is undocumented; one live probe saw it think.
    return thinking.get("type") != "disabled"


def _check_window(input_tokens: int, max_tokens: int, spec: ModelSpec) -> None:
    if input_tokens + max_tokens > spec.context_window:
        raise ApiError(400, "bad_request_error", CONTEXT_OVERFLOW_MESSAGE)


# --------------------------------------------------------------------------- Anthropic


def _anthropic_tools(body: Mapping[str, Any]) -> None:
    choice = body.get("tool_choice")
    # Keys are case-sensitive: {"Type": "none"} is a 400 on MiniMax (§4.1).
    if choice is not None and (
        not isinstance(choice, Mapping) or choice.get("type") not in TOOL_CHOICES
    ):
        raise invalid_request("tool_choice.type: must be one of auto, none, any, tool (2013)")
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid_request("tools: must be an array (2013)")
    for n, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise invalid_request(f"tools.{n}: must be an object (2013)")
        if tool.get("type") not in (None, "custom"):
            raise ApiError(400, "bad_request_error", "invalid tool type (2013)")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise invalid_request(f"tools.{n}.name: field required (2013)")
        if not isinstance(tool.get("input_schema"), Mapping):
            raise invalid_request(f"tools.{n}.input_schema: field required (2013)")


def _anthropic_system(body: Mapping[str, Any]) -> None:
    system = body.get("system")
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid_request("system: must be a string or an array of text blocks (2013)")
    for n, block in enumerate(system):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise invalid_request(f"system.{n}: only text blocks are supported (2013)")
        if not isinstance(block.get("text"), str):
            raise invalid_request(f"system.{n}.text: must be a string (2013)")


def _tool_result(block: Mapping[str, Any], where: str) -> None:
    content = block.get("content", "")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid_request(f"{where}.content: must be a string or an array (2013)")
    for part in content:
        if not isinstance(part, Mapping) or part.get("type") not in ("text", "image"):
            raise ApiError(400, "bad_request_error", "invalid tool_result content (2013)")


def _signature_ok(block: Mapping[str, Any], secret: str) -> bool:
    signature = block.get("signature")
    if signature is None or signature == "":
        return True  # unsigned thinking is accepted and used (§6.2)
    if not isinstance(signature, str) or not isinstance(block.get("thinking"), str):
        return False
    expected = thinking_signature(secret, block["thinking"])
    return hmac.compare_digest(signature, expected)


def _anthropic_block(block: Any, where: str, spec: ModelSpec, model: str, secret: str) -> None:
    if not isinstance(block, Mapping):
        raise invalid_request(f"{where}: must be an object (2013)")
    kind = block.get("type")
    if kind not in ANTHROPIC_BLOCKS:
        raise invalid_request(f"{where}: unsupported content type '{kind}'")
    if kind in MEDIA_TYPES and not spec.multimodal:
        raise invalid_params(f"model {model} does not support {kind} input")
    if kind in ("text", "mid_conv_system") and not isinstance(block.get("text"), str):
        raise invalid_request(f"{where}.text: must be a string (2013)")
    if kind == "tool_use":
        if not isinstance(block.get("input"), Mapping):
            raise invalid_request(f"{where}.input: tool input must be an object (2013)")
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            raise invalid_request(f"{where}: tool_use needs id and name (2013)")
    if kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid_request(f"{where}.tool_use_id: field required (2013)")
        _tool_result(block, where)
    if kind == "thinking" and not _signature_ok(block, secret):
        raise invalid_params("invalid thinking signature")


def _anthropic_messages(messages: Sequence[Any], spec: ModelSpec, model: str, secret: str) -> None:
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise invalid_request(f"messages.{i}: must be an object (2013)")
        if message.get("role") not in ANTHROPIC_ROLES:
            raise invalid_request(f"messages.{i}.role: invalid role (2013)")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise invalid_request(f"messages.{i}.content: must be a string or an array (2013)")
        for j, block in enumerate(content):
            _anthropic_block(block, f"messages.{i}.content.{j}", spec, model, secret)


def _anthropic_last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts: list[str] = []
        for block in content or []:
            if block.get("type") == "text":
                texts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                inner = block.get("content", "")
                if isinstance(inner, str):
                    texts.append(inner)
                else:
                    texts.extend(str(p.get("text", "")) for p in inner if p.get("type") == "text")
        return "\n".join(texts)
    return ""


def validate_anthropic(
    body: Any,
    models: Mapping[str, ModelSpec],
    secret: str,
    *,
    count_only: bool = False,
) -> ModelRequest:
    """Validate an Anthropic Messages (or ``count_tokens``) request body.

    Parameters
    ----------
    body:
        Parsed JSON.
    models:
        Accepted model ids.
    secret:
        Signature secret used to check replayed thinking blocks.
    count_only:
        ``count_tokens``: skip the output-related checks and the context-window check.
    """
    body = _require_object(body)
    model, spec = _model(body, models)
    messages = _messages(body)
    _anthropic_messages(messages, spec, model, secret)
    _anthropic_system(body)
    _anthropic_tools(body)
    max_tokens = spec.default_output
    if not count_only:
        _sampling(body)
        max_tokens = _max_tokens(body.get("max_tokens"), spec, "max_tokens")
    thinking = _thinking_on(body, spec, default_on=False)
    blocks = tuple(anthropic_prompt_blocks(body))
    input_tokens = total_tokens(blocks)
    if not count_only:
        _check_window(input_tokens, max_tokens, spec)
    choice = body.get("tool_choice")
    return ModelRequest(
        endpoint="anthropic",
        model=model,
        spec=spec,
        stream=bool(body.get("stream", False)),
        max_tokens=max_tokens,
        thinking=thinking,
        tool_choice_none=isinstance(choice, Mapping) and choice.get("type") == "none",
        reasoning_split=False,
        include_usage=False,
        blocks=blocks,
        input_tokens=input_tokens,
        last_user_text=_anthropic_last_user_text(messages),
    )


# --------------------------------------------------------------------------- OpenAI


def _openai_messages(messages: Sequence[Any], spec: ModelSpec, model: str) -> None:
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise invalid_request(f"messages.{i}: must be an object (2013)")
        role = message.get("role")
        if role not in OPENAI_ROLES:
            raise invalid_request(f"messages.{i}.role: invalid role (2013)")
        content = message.get("content")
        if content is None:
            if role != "assistant":
                raise invalid_request(f"messages.{i}.content: field required (2013)")
            continue
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise invalid_request(f"messages.{i}.content: must be a string or an array (2013)")
        for j, part in enumerate(content):
            where = f"messages.{i}.content.{j}"
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind not in OPENAI_PARTS:
                raise invalid_request(f"{where}: unsupported content type '{kind}'")
            if kind in MEDIA_TYPES and not spec.multimodal:
                raise invalid_params(f"model {model} does not support {kind} input")


def _openai_tools(body: Mapping[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid_request("tools: must be an array (2013)")
    for n, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or tool.get("type") != "function":
            raise ApiError(400, "bad_request_error", "invalid tool type (2013)")
        function = tool.get("function")
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise invalid_request(f"tools.{n}.function.name: field required (2013)")


def _openai_last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(str(p.get("text", "")) for p in content or [] if p.get("type") == "text")
    return ""


def validate_openai(body: Any, models: Mapping[str, ModelSpec]) -> ModelRequest:
    """Validate a Chat Completions request body (see :func:`validate_anthropic`)."""
    body = _require_object(body)
    model, spec = _model(body, models)
    messages = _messages(body)
    _openai_messages(messages, spec, model)
    _openai_tools(body)
    _sampling(body)
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid_params("n must be 1")
    if body.get("max_completion_tokens") is not None:
        max_tokens = _max_tokens(body["max_completion_tokens"], spec, "max_completion_tokens")
    else:
        max_tokens = _max_tokens(body.get("max_tokens"), spec, "max_tokens")
    split = body.get("reasoning_split", False)
    if not isinstance(split, bool):
        raise invalid_request("reasoning_split: must be a boolean (2013)")
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    # M3 on the OpenAI endpoint thinks unless told otherwise (§6.1, §11.1).
    thinking = _thinking_on(body, spec, default_on=True)
    blocks = tuple(openai_prompt_blocks(body))
    input_tokens = total_tokens(blocks)
    _check_window(input_tokens, max_tokens, spec)
    return ModelRequest(
        endpoint="openai",
        model=model,
        spec=spec,
        stream=bool(body.get("stream", False)),
        max_tokens=max_tokens,
        thinking=thinking,
        tool_choice_none=body.get("tool_choice") == "none",
        reasoning_split=split,
        include_usage=include_usage,
        blocks=blocks,
        input_tokens=input_tokens,
        last_user_text=_openai_last_user_text(messages),
    )
