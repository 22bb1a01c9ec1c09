"""The constructor arguments a method takes, and the check of a `--model-arg` against them."""

import inspect


class ConstructorArgumentsMixin:
    """`MultiLabelModel`'s `constructor_arguments` and `check_arguments` (class methods)."""

    @classmethod
    def constructor_arguments(cls):
        """Every argument the constructor takes: the method's `config_fields` and the base's."""
        base = _parameters(_constructors(cls)[-1])  # MultiLabelModel's own
        return sorted({*cls.config_fields, *base, "name", "dtype"} - {"self", "kwargs"})

    @classmethod
    def check_arguments(cls, arguments, set_elsewhere=(), label=None):
        """Refuses constructor arguments the class does not take, or of the wrong kind.

        A value is checked against the argument's default: a bool default
        takes only True / False, a number default only numbers, a string
        default only strings (a None default takes anything).

        Args:
            arguments: dict, argument -> value (e.g. the CLI's `--model-arg`s).
            set_elsewhere: names the caller sets itself (a run's
                `num_classes`, `backbone`, ...), refused here.
            label: str or None. The method's name in messages (default the
                class name; the CLI passes "cnn-rnn", ...).

        Raises:
            ValueError: naming the argument, what it takes and what it got.
        """
        label = label or cls.__name__
        known = cls.constructor_arguments()
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise ValueError(
                f"{label} takes no argument {', '.join(unknown)} (--model-arg); "
                f"its arguments: {', '.join(known)}."
            )
        for name, value in arguments.items():
            if name in set_elsewhere:
                flag = "--" + name.replace("_", "-")
                raise ValueError(
                    f"--model-arg {name} is set by the run itself (its own option, e.g. {flag}, "
                    "or the data's classes); leave it out of --model-arg."
                )
            default = _default_argument(cls, name)
            kind = _argument_kind(default)
            if kind and not _is_kind(value, kind):
                raise ValueError(
                    f"--model-arg {name}={value!r}: {label}'s {name} takes {kind} "
                    f"(default {default!r}); got {type(value).__name__}."
                )


def _default_argument(cls, name):
    """The default of constructor argument `name` (the method's own, else the base's), or None."""
    for owner in _constructors(cls):
        parameter = _parameters(owner).get(name)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            return parameter.default
    return None


def _argument_kind(default):
    """ "a bool", "a number", "a string", or None (anything) for a default value."""
    if isinstance(default, bool):
        return "a bool (true / false)"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return None


def _is_kind(value, kind):
    if kind.startswith("a bool"):
        return isinstance(value, bool)
    if kind == "a number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _constructors(cls):
    """The classes of `cls`'s MRO defining their own `__init__` in keras_mlrnn, most derived first.

    For a method: the method's class, then `MultiLabelModel`.
    """
    return [
        k for k in cls.__mro__ if "__init__" in vars(k) and k.__module__.startswith("keras_mlrnn")
    ]


def _parameters(owner):
    return inspect.signature(owner.__init__).parameters
