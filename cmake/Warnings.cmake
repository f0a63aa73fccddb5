# One interface target that carries the project's warning flags; every module links it privately.
add_library(imgbuild_warnings INTERFACE)
target_compile_options(imgbuild_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough -Wno-unused-parameter)
