#!/usr/bin/env bash
# Run every notebook's checks under CPU arithmetic other than this machine's default, as a reader's
# CPU would: PyTorch's kernels for another instruction set (ATEN_CPU_CAPABILITY) and MKL/oneDNN on
# another code path. Training is chaotic, so a different rounding of the last bits gives another
# outcome of the same seed; a claim that holds here and fails there was a claim about rounding.
#   bash tools/other_arithmetic.sh            # AVX2 kernels (about the book's usual time)
#   bash tools/other_arithmetic.sh avx512     # AVX-512 kernels, where the CPU has them (else it says so)
#   bash tools/other_arithmetic.sh default    # plain, unvectorised kernels (about twice as long)
# Extra arguments go to pytest (e.g. a notebook's path). Not part of CI (time); run it before
# stating an "every seed" claim. Nothing is stored in the build's execution cache.
set -euo pipefail
cd "$(dirname "$0")/.."
cap=${1:-avx2}; shift || true
case "$cap" in
  avx2) mkl=AVX2; isa=AVX2 ;;
  avx512)
    if ! grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
      echo "this CPU has no AVX-512 (no avx512f in /proc/cpuinfo): nothing to run under AVX-512 kernels"; exit 0
    fi
    mkl=AVX512; isa=AVX512_CORE ;;
  default) mkl=COMPATIBLE; isa=SSE41 ;;
  *) echo "unknown arithmetic '$cap': use avx2, avx512 or default" >&2; exit 2 ;;
esac
export ATEN_CPU_CAPABILITY=$cap MKL_CBWR=$mkl ONEDNN_MAX_CPU_ISA=$isa GANTOOLS_NO_NB_CACHE=1
python -c "import torch; print('torch kernels:', torch.backends.cpu.get_cpu_capability())"
exec pytest "${@:-chapters}" -p no:cacheprovider
