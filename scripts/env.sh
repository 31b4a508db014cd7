# Sourced by the other scripts: the PATH switchboard's build expects.
# cargo-installed tools, and binaryen's wasm-opt from tools/ ahead of any system wasm-opt.
switchboard_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$switchboard_root/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
