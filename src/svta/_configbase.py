"""Base class for svta's typed configs (unknown keys are errors, so typos never pass silently), and the
wrapper that lets a stage function take its config's fields as plain keyword arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from svta.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and validates assignments."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def config_param(func: Callable[..., Any], config_cls: type[BaseModel]) -> str:
    """The name of ``func``'s parameter that takes a ``config_cls`` (by annotation, else the second one)."""
    parameters = list(inspect.signature(func).parameters.values())
    for parameter in parameters:
        if config_cls.__name__ in str(parameter.annotation):
            return parameter.name
    return parameters[1].name


def accepts_config_fields(func: F, config_cls: type[BaseModel]) -> F:
    """``func`` that also takes ``config_cls``'s fields as plain keyword arguments.

    ``generate_captions(root, per_category=3)`` is ``generate_captions(root, CaptionsConfig(per_category=3))``;
    fields given beside a config override it. A function's own parameters keep their meaning.

    Raises:
        ConfigError: a field value is invalid (naming the function and the field).
    """
    signature = inspect.signature(func)
    param = config_param(func, config_cls)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fields = {
            k: kwargs.pop(k) for k in list(kwargs) if k not in signature.parameters and k in config_cls.model_fields
        }
        if not fields:
            return func(*args, **kwargs)
        bound = signature.bind_partial(*args, **kwargs)
        base = bound.arguments.get(param)
        if base is not None and not isinstance(base, config_cls):
            raise ConfigError(f"{func.__name__}: give {param}= or its fields {sorted(fields)}, not both")
        data = {**(base.model_dump() if base is not None else {}), **fields}
        try:
            bound.arguments[param] = config_cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{func.__name__}: {where}: {first['msg']}") from None
        return func(*bound.args, **bound.kwargs)

    wrapper.__signature__ = _signature_with_fields(signature, config_cls)  # type: ignore[attr-defined]
    return cast(F, wrapper)


def _signature_with_fields(signature: inspect.Signature, config_cls: type[BaseModel]) -> inspect.Signature:
    """``signature`` plus ``**fields`` standing for the config's fields (what ``help()`` shows)."""
    parameters = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    fields = inspect.Parameter("fields", inspect.Parameter.VAR_KEYWORD, annotation=f"{config_cls.__name__} fields")
    return signature.replace(parameters=[*parameters, fields])
