"""PyInstaller hook for torch, replacing pyinstaller-hooks-contrib's for this build.

The contrib hook imports every torch submodule (collect_submodules("torch")) to find
hidden imports: about 25 minutes of the build on a busy 2-core machine, and it drags in
torch's compiler stack (torch._inductor, torch._dynamo, sympy...) that ColorStudio never
uses. Here the same data files and libraries are collected, and submodules are collected
everywhere except in those compiler/export/ONNX/test packages; what ColorStudio imports
from them statically is still found by PyInstaller's import analysis.
"""

from PyInstaller.utils.hooks import (
    PY_DYLIB_PATTERNS,
    collect_data_files,
    collect_dynamic_libs,
    collect_submodules,
)

module_collection_mode = "pyz+py"  # TorchScript and inspect need the .py sources
warn_on_missing_hiddenimports = False

_SKIP = ("torch._inductor", "torch._dynamo", "torch.onnx", "torch._export", "torch.export",
         "torch.utils.tensorboard", "torch.testing._internal", "torch.distributed._shard",
         "torch.distributed.tensor", "torch.distributed.fsdp", "torch.distributed.pipelining",
         "torch.distributed.checkpoint", "torch.distributed.elastic", "torch._functorch",
         "torch.fx.experimental", "torch._higher_order_ops", "torch.ao", "torch.cuda._sanitizer",
         "torch._numpy", "torch._refs", "torch._prims", "torch._decomp", "torch.utils.benchmark",
         "torch._lazy", "torch.package", "torch.utils.bottleneck")


def _wanted(name: str) -> bool:
    return not any(name == s or name.startswith(s + ".") for s in _SKIP)


datas = collect_data_files(
    "torch",
    excludes=["**/*.h", "**/*.hpp", "**/*.cuh", "**/*.lib", "**/*.cpp", "**/*.pyi", "**/*.cmake"],
)
hiddenimports = collect_submodules("torch", filter=_wanted)
binaries = collect_dynamic_libs("torch", search_patterns=[*PY_DYLIB_PATTERNS, "*.so.*"])
# As in the contrib hook: no symlinks from torch/lib to the top folder (they confuse torch).
bindepend_symlink_suppression = ["**/torch/lib/*.so*"]
