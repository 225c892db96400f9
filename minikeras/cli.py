"""The ``minikeras`` command: look into model files and convert them between formats.

Three subcommands, each with ``--help``::

    minikeras summary FILE        # the model's layers, training configuration, writer
    minikeras convert IN OUT      # .h5 <-> .keras (or .weights.h5), optimizer state kept
    minikeras inspect FILE        # the HDF5 groups and arrays, or the archive's members

Files are read as untrusted input, through :mod:`minikeras.saving.safe_h5` and
:func:`minikeras.saving.keras_archive.read_member`: links into other files are
refused and archives are read in memory, never extracted. The exit code is 0 on
success, 2 for a wrong command line and 1 for a file that cannot be read, with a
one-line ``minikeras: error: ...`` message. h5py is imported only when a file is read.

Example:
    >>> Sequential([Input((3,)), Dense(2, name="out")]).save(tmp_dir / "m.h5")
    >>> main(["inspect", str(tmp_dir / "m.h5")])  # doctest: +ELLIPSIS
    File: ...m.h5 (legacy HDF5 model, ... bytes)
    ...
      /model_weights/out/sequential/out/kernel  (3, 2)  float32
    ...
    0
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from minikeras._validation import shape_str
from minikeras.saving import keras_archive, safe_h5
from minikeras.saving._files import file_kind
from minikeras.saving._files import h5py_module as _h5py
from minikeras.saving.api import hdf5_layout

PROG = "minikeras"
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
_STEP_NAMES = re.compile(r"(?:^|/)(?:iter|iteration|iterations)(?::\d+)?$")
_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated",
                zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
# Optimizer settings left out of the summary line: always, or while they hold these values.
_HIDDEN_SETTINGS = {"name", "is_legacy_optimizer", "jit_compile"}
_QUIET_SETTINGS = {"use_ema": False, "ema_momentum": 0.99}

Print = Callable[[str], Any]


class CommandError(Exception):
    """A problem the command reports in one line and exits with code 1."""

    exit_code = 1


class UsageError(CommandError):
    """A command line that asks for something impossible (exit code 2, like argparse's errors)."""

    exit_code = 2


# -- small helpers --------------------------------------------------------------------------
def _natural(name: str) -> list[Any]:
    """Sort key putting ``vars/2`` before ``vars/10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _text(value: Any) -> Any:
    """Decodes bytes (and 0-d arrays of them) to ``str``; other values unchanged."""
    if hasattr(value, "shape") and value.shape == () and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf8", errors="replace")
    return value


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _format_value(value: Any) -> str:
    """A configuration value in one short line: ``Adam(learning_rate=0.01)``, ``'mse'``."""
    if isinstance(value, dict) and "class_name" in value:
        settings = value.get("config")
        if not isinstance(settings, dict) or not settings:
            return str(value["class_name"])
        shown = [f"{k}={_format_value(v)}" for k, v in settings.items()
                 if v is not None and k not in _HIDDEN_SETTINGS and _QUIET_SETTINGS.get(k, object()) != v]
        return f"{value['class_name']}({', '.join(shown)})"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_format_value(v)}" for k, v in value.items()) + "}"
    return _number(value)


def _attr_summary(obj: Any, name: str) -> str:
    """An attribute's value in one line; long JSON text is only measured."""
    try:
        value = _text(obj.attrs[name])
    except (OSError, TypeError, ValueError, KeyError) as err:
        return f"<unreadable: {err}>"
    if isinstance(value, str):
        if len(value) > 80 and value.lstrip().startswith(("{", "[")):
            return f"JSON text, {len(value):,} characters"
        return repr(value if len(value) <= 200 else value[:200] + "...")
    if hasattr(value, "shape"):
        if value.size == 0:
            return f"empty {value.dtype} array"
        if value.size <= 8:
            return repr([_text(v) for v in value.ravel().tolist()])
        return f"{value.dtype} array of shape {shape_str(value.shape)}"
    return _number(value)


# -- telling files apart ---------------------------------------------------------------------
_LAYOUT_NAMES = {"model": "legacy HDF5 model", "legacy-weights": "legacy HDF5 weights only",
                 "keras3-weights": "Keras 3 .weights.h5, weights only", "other": "HDF5 file"}


def _writer(attrs: dict[str, Any]) -> str:
    """``Keras 3.15.1 (backend torch)``, from ``keras_version``/``backend``/``minikeras_version``."""
    keras = attrs.get("keras_version")
    text = f"Keras {keras}" if keras else "a Keras version the file does not record"
    if attrs.get("minikeras_version"):
        text = f"minikeras {attrs['minikeras_version']} (in the layout of Keras {keras})"
    if attrs.get("backend"):
        text += f", backend {attrs['backend']}"
    return text


def _root_attrs(f: Any) -> dict[str, Any]:
    found = {}
    for key in ("keras_version", "backend", "minikeras_version"):
        if key in f.attrs:
            found[key] = safe_h5.read_attr_str(f, key)
    return found


# -- the optimizer step stored in a file -----------------------------------------------------
def _scalar(group: Any, path: str) -> int | None:
    """The whole number stored at ``path``, or ``None`` if it is not a scalar; read only if it is."""
    dataset = _dataset_at(group, path)
    if safe_h5.declared_shape(dataset, f"optimizer step {path!r}") != ():
        return None
    value = safe_h5.read_array(dataset, expected_shape=(), what=f"optimizer step {path!r}")
    if value.dtype.kind not in "iuf" or not float(value).is_integer():
        return None
    return int(value)  # Keras 1 and 2.0 kept the step as a float


def _stored_step(f: Any, layout: str) -> str:
    """What optimizer state the file holds: ``saved (step 8)``, ``not saved``."""
    if layout == "model":
        if not safe_h5.has(f, "optimizer_weights"):
            return "not saved"
        group = safe_h5.child(f, "optimizer_weights")
        names = safe_h5.read_str_list(group, "weight_names")
        steps = [n for n in names if _STEP_NAMES.search(n)]
        step = _scalar(group, steps[0]) if steps else None
    else:  # Keras 3 weights layout: the step is the optimizer's first variable
        if not safe_h5.has(f, "optimizer"):
            return "not saved"
        group = safe_h5.child(safe_h5.child(f, "optimizer"), "vars")
        names = sorted(group.keys(), key=_natural)
        step = _scalar(group, names[0]) if names else None
    count = len(names)
    return f"saved, {count} arrays" + (f", step {step}" if step is not None else "")


# -- summary ---------------------------------------------------------------------------------
def _print_training(config: Any, optimizer_key: str, state: str, out: Print) -> None:
    if not isinstance(config, dict):
        out("Training configuration: none (the model was saved without compiling it)")
        return
    out("Training configuration:")
    out(f"  optimizer: {_format_value(config.get(optimizer_key))}")
    out(f"  loss: {_format_value(config.get('loss'))}")
    out(f"  metrics: {_format_value(config.get('metrics') or [])}")
    if config.get("weighted_metrics"):
        out(f"  weighted_metrics: {_format_value(config['weighted_metrics'])}")
    if config.get("loss_weights") is not None:
        out(f"  loss_weights: {_format_value(config['loss_weights'])}")
    out(f"  optimizer state: {state}")


def _load(path: str, compile: bool) -> Any:
    from minikeras.models import load_model

    return load_model(path, compile=compile)


def _summary_h5(path: str, out: Print) -> None:
    with safe_h5.open_h5(path) as f:
        layout = hdf5_layout(f)
        writer = _writer(_root_attrs(f))
        if layout != "model":
            _weights_listing(f, path, layout, writer, out)
            return
        training = safe_h5.read_json_attr(f, "training_config") if "training_config" in f.attrs else None
        state = _stored_step(f, layout)
    model = _load(path, compile=False)
    out(f"File: {path} (legacy HDF5 model, written by {writer})")
    model.summary(print_fn=out)
    _print_training(training, "optimizer_config", state, out)


def _weights_listing(f: Any, path: str, layout: str, writer: str, out: Print) -> None:
    if layout == "other":
        raise CommandError(f"{path!r} is an HDF5 file but holds no Keras model or weights "
                           "(no 'model_config', 'layer_names' or 'layers'). Run 'minikeras inspect' to see what it holds.")
    out(f"File: {path} ({_LAYOUT_NAMES[layout]}, written by {writer})")
    out("It holds weights only: no architecture and no training configuration, so there is no model "
        "to summarize. Build the model in code and call model.load_weights() on this file.")
    out("Layers and their arrays:")
    total = 0
    if layout == "legacy-weights":
        entries = [(name, safe_h5.child(f, name)) for name in safe_h5.read_str_list(f, "layer_names")]
        arrays = [[(w, _dataset_at(group, w)) for w in safe_h5.read_str_list(group, "weight_names")]
                  for _, group in entries]
    else:
        layers = safe_h5.child(f, "layers")
        entries = [(name, safe_h5.child(layers, name)) for name in sorted(layers.keys(), key=_natural)]
        arrays = []
        for _, group in entries:
            variables = safe_h5.child(group, "vars") if safe_h5.has(group, "vars") else None
            names = sorted(variables.keys(), key=_natural) if variables is not None else []
            arrays.append([(f"vars/{n}", safe_h5.child(variables, n)) for n in names])
    for (name, _), layer_arrays in zip(entries, arrays):
        out(f"  {name}: {len(layer_arrays)} array{'s' if len(layer_arrays) != 1 else ''}")
        for label, dataset in layer_arrays:
            shape = safe_h5.declared_shape(dataset, f"weight {label!r}")
            total += _size(shape)
            out(f"    {label}  {shape_str(shape)}  {dataset.dtype}")
    out(f"Total: {total:,} values in {len(entries)} layers")
    if layout == "keras3-weights":
        out(f"Optimizer state: {_stored_step(f, layout)}")


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def _dataset_at(group: Any, path: str) -> Any:
    """``group[path]``, one step at a time so that no step may be an external link."""
    obj = group
    for part in path.split("/"):
        obj = safe_h5.child(obj, part)
    return obj


def _summary_keras(path: str, out: Print) -> None:
    label = repr(os.path.basename(path))
    with keras_archive.open_archive(path) as zf:
        metadata = _optional_json(zf, keras_archive.METADATA, label) or {}
        config = keras_archive.read_json(zf, keras_archive.CONFIG, label)
        weights = keras_archive.read_member(zf, keras_archive.WEIGHTS, keras_archive.MAX_WEIGHTS_BYTES, label)
    with safe_h5.open_h5(io.BytesIO(weights), filename=f"{os.path.basename(path)}/{keras_archive.WEIGHTS}") as f:
        state = _stored_step(f, "keras3-weights")
    model = _load(path, compile=False)
    metadata = metadata if isinstance(metadata, dict) else {}
    out(f"File: {path} (Keras 3 .keras archive, written by {_writer(metadata)})")
    model.summary(print_fn=out)
    training = config.get("compile_config") if isinstance(config, dict) else None
    _print_training(training, "optimizer", state, out)


def run_summary(path: str, out: Print = print) -> None:
    """Prints the model in ``path``, its training configuration and who wrote it.

    Examples:
        >>> model = Sequential([Input((3,)), Dense(2)], name="tiny")
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> model.save(tmp_dir / "m.keras")
        >>> run_summary(str(tmp_dir / "m.keras"))  # doctest: +ELLIPSIS
        File: ...m.keras (Keras 3 .keras archive, written by minikeras ...)
        Model: "tiny"
        ...
        Training configuration:
          optimizer: SGD(learning_rate=0.01, ...)
          loss: 'mean_squared_error'
        ...
    """
    if file_kind(path) == "zip":
        _summary_keras(path, out)
    else:
        _summary_h5(path, out)


# -- convert ---------------------------------------------------------------------------------
def _format_of(path: str) -> str:
    if path.endswith(".weights.h5"):
        return "Keras 3 .weights.h5, weights only"
    if path.endswith(".keras"):
        return "Keras 3 .keras archive"
    return "legacy HDF5 model"


def run_convert(source: str, target: str, overwrite: bool = False, out: Print = print) -> None:
    """Loads ``source`` with its optimizer state and saves it as ``target``'s suffix says.

    Examples:
        >>> Sequential([Input((3,)), Dense(2)]).save(tmp_dir / "m.h5")
        >>> run_convert(str(tmp_dir / "m.h5"), str(tmp_dir / "m.keras"))  # doctest: +ELLIPSIS
        Converted ...m.h5 (legacy HDF5 model) to ...m.keras (Keras 3 .keras archive); not compiled
    """
    if not target.endswith(_MODEL_SUFFIXES):
        raise UsageError(f"cannot tell the output format from {target!r}: expected a name ending in "
                           "'.keras', '.h5' (legacy HDF5) or '.weights.h5' (weights only).")
    if os.path.exists(target) and not overwrite:
        raise CommandError(f"{target!r} already exists; pass --overwrite to replace it.")
    if file_kind(source) == "hdf5":
        with safe_h5.open_h5(source) as f:
            layout = hdf5_layout(f)
        if layout != "model":
            raise CommandError(f"{source!r} holds {_LAYOUT_NAMES[layout]}, not a model: there is no "
                               "architecture to convert. Build the model in code, load_weights() it and save it.")
    with warnings.catch_warnings():
        # A model saved uncompiled is converted as it is; no need to say it was not compiled.
        warnings.filterwarnings("ignore", message="No training configuration found", category=UserWarning)
        model = _load(source, compile=True)
    if target.endswith(".weights.h5"):
        model.save_weights(target, overwrite=True)
    else:
        model.save(target, overwrite=True)
    if model.compiled and model.optimizer.built:
        state = f"optimizer state kept (step {int(model.optimizer.iterations)})"
    else:
        state = "compiled, optimizer not yet built" if model.compiled else "not compiled"
    out(f"Converted {source} ({_format_of(source)}) to {target} ({_format_of(target)}); {state}")


# -- inspect ---------------------------------------------------------------------------------
def _walk(group: Any, prefix: str, out: Print, seen: set[Any]) -> None:
    """Lists every entry under ``group``; external links are refused, soft links not followed."""
    h5py = _h5py()
    try:
        names = sorted(group.keys(), key=_natural)
    except (OSError, RuntimeError, ValueError) as err:
        raise safe_h5.ModelFileError(f"Cannot list {safe_h5.describe(group)}: the file is damaged ({err}).") from None
    for name in names:
        path = f"{prefix}/{name}"
        try:
            link = group.get(name, getlink=True)
        except (OSError, KeyError, ValueError) as err:
            raise safe_h5.ModelFileError(f"Cannot read {path!r}: the file is damaged ({err}).") from None
        if isinstance(link, h5py.SoftLink):
            out(f"  {path} -> {link.path}  (soft link, not followed)")
            continue
        obj = safe_h5.child(group, name)
        if obj in seen:
            out(f"  {path}/  (the same group as listed above, not repeated)")
            continue
        if isinstance(obj, h5py.Group):
            seen.add(obj)
            out(f"  {path}/  ({_entries(len(obj))})")
            _walk(obj, path, out, seen)
            continue
        if isinstance(obj, h5py.Dataset):
            shape = "no dataspace" if obj.shape is None else shape_str(safe_h5.declared_shape(obj, path))
            where = "  [data in other files, not read]" if obj.is_virtual or obj.external else ""
            out(f"  {path}  {shape}  {obj.dtype}{where}")
        else:
            out(f"  {path}  ({type(obj).__name__})")


def _list_h5(f: Any, out: Print) -> None:
    if len(f.attrs):
        out("Attributes:")
        for key in sorted(f.attrs.keys()):
            out(f"  {key}: {_attr_summary(f, key)}")
    out("Contents:")
    _walk(f, "", out, set())


def _inspect_keras(path: str, out: Print) -> None:
    label = repr(os.path.basename(path))
    with keras_archive.open_archive(path) as zf:
        infos = zf.infolist()
        out(f"File: {path} (Keras 3 .keras archive, {os.path.getsize(path):,} bytes)")
        out("Members:")
        width = max((len(i.filename) for i in infos), default=0)
        for info in infos:
            how = _COMPRESSION.get(info.compress_type, f"compression {info.compress_type}")
            if info.compress_type != zipfile.ZIP_STORED:
                how += f", {info.compress_size:,} bytes stored"
            if info.flag_bits & 0x1:
                how += ", encrypted"
            out(f"  {info.filename:<{width}}  {info.file_size:>12,} bytes  ({how})")
        metadata = _optional_json(zf, keras_archive.METADATA, label)
        weights = (keras_archive.read_member(zf, keras_archive.WEIGHTS, keras_archive.MAX_WEIGHTS_BYTES, label)
                   if keras_archive.member(zf, keras_archive.WEIGHTS) else None)
    if isinstance(metadata, dict):
        out(f"{keras_archive.METADATA}:")
        for key, value in metadata.items():
            out(f"  {key}: {_format_value(value)}")
    if weights is None:
        out(f"No {keras_archive.WEIGHTS} member: the archive holds no weights minikeras can read.")
        return
    out(f"{keras_archive.WEIGHTS}:")
    with safe_h5.open_h5(io.BytesIO(weights), filename=f"{os.path.basename(path)}/{keras_archive.WEIGHTS}") as f:
        _list_h5(f, out)


def run_inspect(path: str, out: Print = print) -> None:
    """Lists what ``path`` holds without loading a model (see the module example)."""
    if file_kind(path) == "zip":
        _inspect_keras(path, out)
        return
    with safe_h5.open_h5(path) as f:
        out(f"File: {path} ({_LAYOUT_NAMES[hdf5_layout(f)]}, {os.path.getsize(path):,} bytes)")
        _list_h5(f, out)


# -- archives --------------------------------------------------------------------------------
def _optional_json(zf: zipfile.ZipFile, name: str, label: str) -> Any:
    """The parsed JSON member ``name``, or ``None`` if the archive has none."""
    return keras_archive.read_json(zf, name, label) if keras_archive.member(zf, name) else None


# -- command line ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minikeras`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Look into Keras and minikeras model files and convert them between formats.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    summary = commands.add_parser(
        "summary", help="print a model file's layers, training configuration and writer",
        description="Print model.summary() of a .keras or .h5 model file (from any Keras version), its "
                    "training configuration and the Keras version that wrote it. For a weights-only file, "
                    "list its layers and arrays.")
    summary.add_argument("file", metavar="FILE", help="a .keras, .h5 or .weights.h5 file")
    convert = commands.add_parser(
        "convert", help="convert a model between .h5 and .keras, keeping the optimizer state",
        description="Load IN with its training configuration and optimizer state and save it in the format "
                    "OUT's suffix names: '.keras' (Keras 3 archive), '.h5' (legacy HDF5) or '.weights.h5' "
                    "(weights only). The file is written atomically.")
    convert.add_argument("source", metavar="IN", help="the model file to read (.keras or .h5)")
    convert.add_argument("target", metavar="OUT", help="the file to write (.keras, .h5 or .weights.h5)")
    convert.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    inspect = commands.add_parser(
        "inspect", help="list the groups and arrays of an HDF5 file or the members of a .keras archive",
        description="List the HDF5 groups and datasets (shapes, dtypes) and root attributes of a .h5 file, "
                    "or the members of a .keras archive and the datasets of its model.weights.h5, without "
                    "loading a model or extracting anything to disk.")
    inspect.add_argument("file", metavar="FILE", help="a .keras, .h5 or .weights.h5 file")
    return parser


def _run(args: argparse.Namespace) -> None:
    if args.command == "summary":
        run_summary(args.file)
    elif args.command == "convert":
        run_convert(args.source, args.target, overwrite=args.overwrite)
    else:
        run_inspect(args.file)


def _silence_stdout() -> None:
    """Points stdout at /dev/null so that Python's final flush does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``minikeras`` command and returns its exit code (0, 1 or 2).

    Examples:
        >>> main(["summary", str(tmp_dir / "missing.keras")])  # the message goes to stderr
        1
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) and usage errors (2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                _run(args)
            finally:
                for warning in caught:
                    print(f"{PROG}: warning: {_one_line(warning.message)}", file=sys.stderr)
    except BrokenPipeError:  # the reader of the output went away (``minikeras inspect f | head``)
        _silence_stdout()
        return 1
    except (CommandError, ValueError, OSError, zipfile.BadZipFile) as err:
        sys.stdout.flush()
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    return 0
