#!/usr/bin/env bash
# Banco: cuánto tarda calificar un ejercicio justo después de editarlo, con lo demás ya
# compilado (lo que vive un alumno a cada intento).
#
#   bash scripts/tiempo_calificar.sh [capNN]     (por defecto cap05)
#
# Califica una vez para calentar, «edita» el archivo del capítulo (le cambia la fecha, como al
# guardarlo) y cronometra `cargo ejercicios capNN`, tres veces.
set -euo pipefail
cd "$(dirname "$0")/.."
cap="${1:-cap05}"
file=$(ls ejercicios/"${cap}"_*.rs 2>/dev/null | head -1)
if [ -z "$file" ]; then
  echo "error: no hay ejercicios para «$cap» (usa cap01 … cap07)" >&2
  exit 2
fi
cargo ejercicios "$cap" >/dev/null 2>&1 || true
for i in 1 2 3; do
  touch "$file"
  start=$(date +%s.%N)
  cargo ejercicios "$cap" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 -c "print(f'calificar {\"$cap\"} tras editar {\"$file\"}: {$end - $start:.1f} s')"
done
