"""What the PyInstaller build leaves out, and why (shared by the spec and the tests).

Hooks collect whole packages (torch's hook takes every data file and shared library of
torch, PySide6's takes the plugins of every Qt module it sees); ColorStudio needs a small
part. Each pattern below names something the app never loads at run time.
"""

from __future__ import annotations

from fnmatch import fnmatch

# Python packages in the build venv that ColorStudio does not import at run time.
EXCLUDED_MODULES = [
    # test and analysis tools of the dev environment ([test] extra) and their dependencies
    "pytest", "_pytest", "pytestqt", "skimage", "matplotlib", "pandas",
    "IPython", "jupyter_client", "tkinter", "_tkinter", "pydoc_data", "lib2to3",
    # torch's compiler stack (torch.compile is not used): sympy, networkx, jinja2, triton
    "sympy", "networkx", "jinja2", "triton", "torchvision", "torchaudio",
    "torch.utils.tensorboard", "tensorboard",
    # Qt modules PySide6 ships but the app does not use (QtCore, QtGui, QtWidgets,
    # QtOpenGL, QtOpenGLWidgets and QtSvg stay)
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest", "PySide6.QtQmlFeatures", "PySide6.QtNetwork", "PySide6.QtSql",
    "PySide6.QtTest", "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools",
    "PySide6.QtXml", "PySide6.QtConcurrent", "PySide6.QtPrintSupport", "PySide6.QtDBus",
    "PySide6.QtLabsStyleKit", "PySide6.QtSvgWidgets",
    # qtpy (used by qtawesome) would drag in PyQt5/PyQt6 if they were installed
    "PyQt5", "PyQt6", "PySide2",
]

# Destination paths (inside the bundle) of collected files that are dropped.
EXCLUDED_FILES = [
    # torch: C++ headers, test programs and test libraries, CMake files, static libs
    "torch/include/*", "torch/test/*", "torch/share/*",
    # torch/bin: C++ test programs and protoc; torch_shm_manager stays (torch checks for it)
    "torch/bin/*Test", "torch/bin/test_*", "torch/bin/protoc*", "torch/bin/*.pt",
    "torch/bin/*.ptl", "torch/bin/upgrader_models/*",
    "torch/lib/*_test.so", "torch/lib/libbackend_with_compiler.so",
    "torch/lib/libaoti_custom_ops.so", "torch/lib/*.a",
    "torch/_inductor/*", "torch/utils/benchmark/*", "torchgen/packaged/*",
    # Qt: QML/Quick, networking, SQL, printing, Wayland compositor, virtual keyboard parts
    "PySide6/Qt/qml/*", "PySide6/Qt/plugins/qmltooling/*", "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/tls/*", "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/printsupport/*", "PySide6/Qt/plugins/designer/*",
    "PySide6/Qt/plugins/wayland-graphics-integration-server/*",
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
    "PySide6/Qt/lib/libQt6Qml*", "PySide6/Qt/lib/libQt6Quick*", "PySide6/Qt/lib/libQt6Sql*",
    "PySide6/Qt/lib/libQt6Designer*", "PySide6/Qt/lib/libQt6Test*",
    "PySide6/Qt/lib/libQt6VirtualKeyboard*", "PySide6/Qt/lib/libQt6Pdf*",
    "PySide6/Qt/translations/qtwebengine*", "PySide6/Qt/translations/designer*",
    "PySide6/Qt/translations/assistant*", "PySide6/Qt/translations/linguist*",
    # qtawesome's test suite and icon browser assets
    "qtawesome/tests/*",
]

# CUDA runtime libraries: dropped unless the build is meant to carry a CUDA torch
# (COLORSTUDIO_CUDA=1, set by build.py when the venv's torch is a CUDA build).
CUDA_FILES = ["nvidia/*", "torch/lib/libcudnn*", "torch/lib/libnccl*", "torch/lib/libcu*",
              "torch/lib/libnv*", "torch/lib/libtorch_cuda*", "torch/lib/libc10_cuda*",
              "triton/*"]


def keep_entry(dest: str, cuda: bool = False) -> bool:
    """False for a bundle path (forward or back slashes) that matches EXCLUDED_FILES
    (or CUDA_FILES when `cuda` is off)."""
    d = dest.replace("\\", "/")
    patterns = EXCLUDED_FILES if cuda else EXCLUDED_FILES + CUDA_FILES
    return not any(fnmatch(d, pat) for pat in patterns)
