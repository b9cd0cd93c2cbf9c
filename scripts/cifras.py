#!/usr/bin/env python3
"""Todas las cifras del libro que salen de un programa, y los tiempos medidos: un solo guion.

    python3 scripts/cifras.py comprobar [GRUPO…]   vuelve a calcular y falla si el libro (o el
                                                   archivo del calificador) no dice lo mismo
    python3 scripts/cifras.py escribir [GRUPO…]    vuelve a calcular y reescribe los archivos
    python3 scripts/cifras.py medir [MEDIDA…]      mide tiempos (con la máquina tranquila) y los
                                                   guarda con la máquina, la CPU y la fecha

Sin GRUPO, todos, en este orden (los que leen la tabla del preset cpu van después de `cpu`):

  cpu       capítulo 7: la tabla de pérdidas de `07_gpt entrenar --preset cpu`, las dos muestras
            de `generar` y la curva (book/src/tablas/cpu_*, book/src/figuras/gpt_curva_cpu.svg).
            Al escribir, si está el entorno de PyTorch de scripts/comparar_pytorch.sh, añade la
            línea de la misma configuración en PyTorch; al comprobar no se mira.
  alumno    tests/calificadores/cifras_biblioteca.txt: la pérdida de validación final de la
            biblioteca con la semilla por defecto, con la que compara `cargo ejercicios --entrenar`.
  escalera  capítulo 8: la tabla de `07_gpt escalera` (book/src/tablas/escalera.md).
  mas_alla  capítulo 8: GELU y calentamiento con coseno frente al modelo del cuaderno
            (book/src/tablas/mas_alla.md).
  textos    las salidas que el libro cita sin instantánea: la muestra del bigrama tras 10 000
            pasos (cap. 5), el resumen de los pesos de la cabeza (cap. 6) y el error de una
            tasa de aprendizaje absurda (cap. 8), en book/src/tablas/*.txt.
  medidas   los tiempos guardados en book/medidas.json: no se repiten (dependen de la máquina),
            pero se comprueba que cada uno dice su máquina, su CPU, su fecha y su orden, que su
            texto es el de su valor y que la tabla del apéndice (book/src/tablas/medidas.md) es
            la suya. Que el libro y el README citen exactamente ese texto, entre
            `<!--medida:CLAVE-->` y `<!--/medida-->`, lo comprueba `cargo test` (tests/libro.rs).
            `escribir medidas` vuelve a poner esos textos y la tabla sin medir nada.

Medidas (`medir` sin nada las toma todas; unos 10 minutos, que la máquina no haga otra cosa):
{medidas}

Los números se escriben con la norma del libro (scripts/comun.py). Todo usa el perfil de
desarrollo, el de `cargo run` y `cargo test`: las cuentas son las mismas que en release.
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from comun import de_es, es, instructions, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = os.path.join(ROOT, "book", "src", "tablas")
CPU_TABLE = os.path.join(TABLES, "cpu_entrenamiento.md")
TODAY = datetime.date.today().isoformat()

# Las estimaciones de `05_bigram` y de `07_gpt entrenar`, con la norma del libro.
EVAL = re.compile(r"^\s*paso\s+([\d\u202f]+): pérdida de entrenamiento (\d+,\d+), de validación (\d+,\d+)")


class Fallo(Exception):
    """Una cifra del libro que ya no es la del programa: el mensaje dice cuál y cómo arreglarla."""


def binary(name):
    """El programa `name` del perfil de desarrollo, compilado si hace falta."""
    subprocess.run(["cargo", "build", "-q", "--bin", name], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", name)


def output(cmd):
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"error: «{' '.join(cmd)}» falló ({run.returncode}):\n{run.stderr}")
    return run.stdout


def estimates(text, what):
    """(paso, entrenamiento, validación) de cada estimación que imprime un programa, como texto."""
    rows = [m.groups() for m in map(EVAL.match, text.splitlines()) if m]
    if not rows:
        sys.exit(f"error: {what} no imprimió ninguna estimación:\n{text}")
    return rows


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text, mode="w"):
    with open(path, mode, encoding=None if "b" in mode else "utf-8") as f:
        f.write(text)
    print(f"Escrito {os.path.relpath(path, ROOT)}")


def header(what):
    return f"Máquina: {machine()}; {TODAY}. {what}"


# ----------------------------------------------------------------------------------------------
# cpu: el capítulo 7 con la configuración `cpu`

# `--ancho 80`: como en una terminal, renglones de 80 columnas partidos entre palabras (en una
# tubería, `generar` escribe el texto tal cual).
SAMPLES = {
    "cpu_muestra_7.txt": ["--prompt", "En un lugar de la Mancha", "--tokens", "400", "--semilla", "7", "--ancho", "80"],
    "cpu_muestra_t07.txt": ["--temperatura", "0.7", "--top-k", "10", "--semilla", "3", "--tokens", "300", "--ancho", "80"],
}


def loss_table(rows):
    lines = ["| paso | pérdida de entrenamiento | pérdida de validación |", "| ---: | ---: | ---: |"]
    lines += [f"| {s} | {t} | {v} |" for s, t, v in rows]
    return "\n".join(lines) + "\n"


def cpu_rows_from_table():
    """Las filas (paso, entrenamiento, validación) de la tabla del capítulo 7, como números."""
    rows = []
    for line in read(CPU_TABLE).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[\d\u202f]+", cells[0]):
            rows.append((cells[0], de_es(cells[1]), de_es(cells[2])))
    if not rows:
        sys.exit(f"error: {CPU_TABLE} no tiene la tabla de pérdidas")
    return rows


def pytorch_line():
    """La misma configuración entrenada en PyTorch, si hay PyTorch; si no, una cadena vacía."""
    venv = os.environ.get("GPT_DESDE_CERO_VENV", os.path.expanduser("~/.cache/gpt-desde-cero/venv-torch"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        return ""
    out = output([python, "scripts/gpt_pytorch.py", "--config", "cpu", "--hilos", "2", "--entrenar", "2000"])
    m = re.search(r"(\d+) pasos en ([\d.]+) s: entrenamiento ([\d.]+), validación ([\d.]+)", out)
    if not m:
        sys.exit("error: scripts/gpt_pytorch.py no imprimió sus pérdidas:\n" + out)
    steps, secs, train, val = m.groups()

    def spanish(x):
        return es(float(x), len(x.partition(".")[2]))

    return (
        f"\nPyTorch, el mismo modelo en la misma máquina con dos hilos "
        f"(`scripts/gpt_pytorch.py --config cpu --hilos 2 --entrenar 2000`): {steps} pasos en "
        f"{es(float(secs))} s; pérdida final de entrenamiento {spanish(train)} y de "
        f"validación {spanish(val)}.\n"
    )


def group_cpu(mode):
    exe = binary("07_gpt")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        out = output([exe, "entrenar", "--preset", "cpu", "--salidas", tmp, "--sobrescribir"])
        seconds = time.monotonic() - start
        rows = estimates(out, "07_gpt entrenar --preset cpu")
        ckpt = os.path.join(tmp, "gpt-mejor.safetensors")
        samples = {name: output([exe, "generar", "--checkpoint", ckpt, *args]) for name, args in SAMPLES.items()}
        if mode == "escribir":
            text = header(f"Tardó {es(seconds, 1)} s en total, estimaciones incluidas.\n\n")
            write(CPU_TABLE, text + loss_table(rows) + pytorch_line())
            for name, sample in samples.items():
                write(os.path.join(TABLES, name), sample)
            with open(os.path.join(tmp, "gpt-curva.svg"), "rb") as f:
                write(os.path.join(ROOT, "book", "src", "figuras", "gpt_curva_cpu.svg"), f.read(), "wb")
            return
    problems = []
    if loss_table(rows) not in read(CPU_TABLE):
        problems.append(f"la tabla de pérdidas del capítulo 7 no es la del programa:\n{loss_table(rows)}")
    for name, sample in samples.items():
        if read(os.path.join(TABLES, name)) != sample:
            problems.append(f"{name} no es lo que genera el programa:\n{sample}")
    if problems:
        raise Fallo("\n".join(problems))
    print(f"Las pérdidas y los textos del capítulo 7 (preset cpu) son los del programa ({seconds:.0f} s).")


# ----------------------------------------------------------------------------------------------
# alumno: las cifras con que compara `cargo ejercicios --entrenar`

LIBRARY_FIGURES = os.path.join(ROOT, "tests", "calificadores", "cifras_biblioteca.txt")
LIBRARY_HEADER = """\
# La pérdida de validación final de la biblioteca con la semilla por defecto (su última
# estimación), por modelo y configuración: con ella compara la tuya `cargo ejercicios
# --entrenar`. La escribe y la comprueba scripts/cifras.py (grupo alumno); no la edites a mano.
"""


def group_alumno(mode):
    """bigram: `05_bigram` (el mismo comienzo y entrenamiento que tu bigrama); gpt diminuto:
    `07_gpt entrenar --preset diminuto`; gpt cpu: la última fila de la tabla del capítulo 7, que
    escribe y comprueba el grupo `cpu` (así no se entrena dos veces)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = output([binary("05_bigram"), "--salidas", os.path.join(tmp, "bigram")])
        found = {"bigram": de_es(estimates(out, "05_bigram")[-1][2])}
        out = output([binary("07_gpt"), "entrenar", "--preset", "diminuto", "--salidas", os.path.join(tmp, "d")])
        found["gpt diminuto"] = de_es(estimates(out, "07_gpt entrenar --preset diminuto")[-1][2])
    found["gpt cpu"] = cpu_rows_from_table()[-1][2]
    text = LIBRARY_HEADER + "".join(f"{k} {v:.4f}\n" for k, v in found.items())
    if mode == "escribir":
        write(LIBRARY_FIGURES, text)
    elif read(LIBRARY_FIGURES) != text:
        raise Fallo(f"{os.path.relpath(LIBRARY_FIGURES, ROOT)} no tiene las cifras de la biblioteca:\n{text}")
    else:
        print("Las cifras con que `cargo ejercicios --entrenar` compara son las de la biblioteca.")


# ----------------------------------------------------------------------------------------------
# escalera: la tabla del capítulo 8

LADDER = os.path.join(TABLES, "escalera.md")


def ladder_rows(out):
    """(nombre, parámetros, pérdida, segundos) de cada peldaño de la salida del programa."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[\d\u202f]+", cells[1]):
            name, params, loss, secs = cells
            # «2. + una cabeza» → «2. más una cabeza»: un «+» al empezar la celda no dice nada;
            # *dropout*, en cursiva como en el resto del libro.
            name = name.replace(". + ", ". más ", 1).replace("dropout", "*dropout*")
            rows.append((name, int(de_es(params)), de_es(loss), de_es(secs.removesuffix(" s"))))
    if len(rows) != 8:
        sys.exit(f"error: la salida de 07_gpt escalera no trae los 8 peldaños:\n{out}")
    return rows


def ladder_table(rows):
    lines = ["| peldaño | parámetros | pérdida de validación | tiempo |", "| :--- | ---: | ---: | ---: |"]
    lines += [f"| {n} | {es(p)} | {es(l, 4)} | {es(s, 1)} s |" for n, p, l, s in rows]
    return lines


def without_times(lines):
    """Los tiempos dependen de la máquina: se guardan con ella y no se comparan."""
    return [re.sub(r"\| [\d\u202f,]+ s \|$", "|", line) for line in lines if line.startswith("|")]


def group_escalera(mode):
    got = ladder_table(ladder_rows(output([binary("07_gpt"), "escalera"])))
    if mode == "escribir":
        write(LADDER, "\n".join([header("Perfil de desarrollo (`cargo run`)."), ""] + got) + "\n")
        return
    want = without_times(read(LADDER).splitlines())
    if want != without_times(got):
        diff = "\n".join(f"  libro:    {w}\n  programa: {g}" for w, g in zip(want, without_times(got)) if w != g)
        raise Fallo(f"la tabla de la escalera ya no es lo que imprime el programa:\n{diff}")
    print("La tabla de la escalera es la que imprime el programa.")


# ----------------------------------------------------------------------------------------------
# mas_alla: GELU y coseno, medidos

BEYOND = os.path.join(TABLES, "mas_alla.md")
VARIANTS = [
    ("GELU en vez de ReLU (ejercicio 6.4)", ["--activacion", "gelu"]),
    ("calentamiento y coseno (ejercicio 5.7)", ["--lr-coseno"]),
    ("las dos", ["--activacion", "gelu", "--lr-coseno"]),
]


def beyond_table(base, results):
    lines = [
        "| variante de la configuración `cpu` | pérdida de entrenamiento | pérdida de validación | cambio en validación |",
        "| :--- | ---: | ---: | ---: |",
        f"| el cuaderno: ReLU y tasa fija | {es(base[0], 4)} | {es(base[1], 4)} | |",
    ]
    for (name, _), (train, val) in zip(VARIANTS, results):
        change = round(val, 4) - round(base[1], 4)
        sign = "+" if change >= 0 else "−"
        lines.append(f"| {name} | {es(train, 4)} | {es(val, 4)} | {sign}{es(abs(change), 4)} |")
    return "\n".join(lines) + "\n"


def group_mas_alla(mode):
    """Entrena el preset cpu (2000 pasos, semilla por defecto) con cada variante, las tres a la
    vez (un proceso cada una); el modelo del cuaderno es la última fila del capítulo 7."""
    base = cpu_rows_from_table()[-1][1:]
    exe = binary("07_gpt")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [exe, "entrenar", "--preset", "cpu", "--salidas", os.path.join(tmp, f"v{i}"), "--sobrescribir", *args],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i, (_, args) in enumerate(VARIANTS)
        ]
        for (name, _), p in zip(VARIANTS, procs):
            stdout, stderr = p.communicate()
            if p.returncode != 0:
                sys.exit(f"error: la variante «{name}» falló:\n{stderr}")
            last = estimates(stdout, f"la variante «{name}»")[-1]
            if last[0] != "1999":
                sys.exit(f"error: la variante «{name}» no llegó al paso 1999:\n{stdout}")
            results.append((de_es(last[1]), de_es(last[2])))
    got = beyond_table(base, results)
    if mode == "escribir":
        what = "2000 pasos de la configuración `cpu` con la semilla por defecto; la escribe `python3 scripts/cifras.py escribir mas_alla`."
        write(BEYOND, header(what) + "\n\n" + got)
    elif got not in read(BEYOND):
        raise Fallo(f"la tabla de los «más allá» no es la del programa:\n{got}")
    else:
        print("La tabla de los «más allá» es la del programa.")


# ----------------------------------------------------------------------------------------------
# textos: salidas de los programas que el libro cita sin instantánea (las pruebas no las repiten)

TEXTS = {
    # capítulo 5: el comienzo de lo que escribe el bigrama tras sus 10 000 pasos
    "bigrama_muestra.txt": "los primeros renglones del texto de `cargo run --bin 05_bigram`",
    # capítulo 6: el resumen de la matriz de atención tras los 5000 pasos
    "cabeza_pesos.txt": "la línea «Peso medio…» de `cargo run --bin 06_autoatencion`",
    # capítulo 8: el vigilante de la pérdida con una tasa de aprendizaje absurda
    "divergencia.txt": "`07_gpt entrenar --preset diminuto --lr 1000`, que diverge",
}


def wrap(text, width=90):
    """Parte un renglón largo entre palabras, como se cita en el libro."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


def texts():
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = output([binary("05_bigram"), "--salidas", os.path.join(tmp, "b")])
        sample = out.split("Texto después de entrenar (500 caracteres):\n\n", 1)[-1].splitlines()
        found["bigrama_muestra.txt"] = "\n".join(sample[:4]) + "\n"
        out = output([binary("06_autoatencion"), "--salidas", os.path.join(tmp, "c")])
        # El programa parte la frase en renglones de 80 columnas: hasta la línea del mapa.
        lines = out.splitlines()
        start = next((i for i, l in enumerate(lines) if l.startswith("Peso medio")), None)
        if start is None:
            sys.exit(f"error: 06_autoatencion no imprimió «Peso medio…»:\n{out}")
        end = next((i for i in range(start + 1, len(lines)) if not lines[i] or lines[i].startswith("Mapa")), len(lines))
        found["cabeza_pesos.txt"] = "\n".join(lines[start:end]) + "\n"
        # En una carpeta vacía, para que el mensaje nombre «salidas/…» como en la máquina del
        # alumno; el corpus, el de la caché del proyecto.
        env = dict(os.environ, GPT_DESDE_CERO_DATOS=os.path.join(ROOT, "datos"))
        run = subprocess.run([binary("07_gpt"), "entrenar", "--preset", "diminuto", "--lr", "1000"],
                             cwd=tmp, env=env, capture_output=True, text=True)
        if run.returncode != 1:
            sys.exit(f"error: con --lr 1000 el entrenamiento debía fallar con código 1 y dio {run.returncode}:\n{run.stderr}")
        first = next((l for l in run.stdout.splitlines() if l.startswith("paso 0:")), None)
        error = next((l for l in run.stderr.splitlines() if l.startswith("error:")), None)
        if first is None or error is None:
            sys.exit(f"error: con --lr 1000 faltan la estimación del paso 0 o el error:\n{run.stdout}\n{run.stderr}")
        found["divergencia.txt"] = "\n".join(
            ["$ cargo run --bin 07_gpt -- entrenar --preset diminuto --lr 1000", "…", first] + wrap(error)) + "\n"
    return found


def group_textos(mode):
    problems = []
    for name, text in texts().items():
        path = os.path.join(TABLES, name)
        if mode == "escribir":
            write(path, text)
        elif not os.path.exists(path) or read(path) != text:
            problems.append(f"{name} ({TEXTS[name]}) no es lo que imprime hoy el programa:\n{text}")
    if problems:
        raise Fallo("\n".join(problems))
    if mode == "comprobar":
        print("Los textos que el libro cita de los programas son los que imprimen.")


# ----------------------------------------------------------------------------------------------
# medidas: tiempos que la CI no puede repetir

MEASURES_FILE = os.path.join(ROOT, "book", "medidas.json")
MEASURES_TABLE = os.path.join(TABLES, "medidas.md")
MARK = re.compile(r"<!--medida:([a-z_0-9]+)-->(.*?)<!--/medida-->")


def timed(cmd, env=None):
    start = time.monotonic()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"error: «{' '.join(cmd)}» falló ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return time.monotonic() - start


def measure_program(name):
    """El programa `name` entero, con sus valores por defecto y las salidas en una carpeta aparte."""
    exe = binary(name)
    with tempfile.TemporaryDirectory() as tmp:
        return timed([exe, "--salidas", tmp])


def measure_notebook_step():
    """(tiempo con 6 pasos − tiempo con 2) / 4: lo que cuesta un paso, sin el arranque ni las
    dos estimaciones (de un lote cada una)."""
    exe = binary("07_gpt")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for steps in (2, 6):
            cmd = [exe, "entrenar", "--preset", "cuaderno", "--pasos", str(steps), "--eval-cada", "1000",
                   "--eval-lotes", "1", "--salidas", os.path.join(tmp, str(steps)), "--sobrescribir"]
            times[steps] = timed(cmd)
    return (times[6] - times[2]) / 4


def measure_student_gpt():
    subprocess.run(["cargo", "test", "-q", "--no-run", "--test", "ejercicios"], cwd=ROOT, check=True, capture_output=True)
    return timed(["cargo", "test", "-q", "--test", "ejercicios", "--", "--entrenar", "gpt", "--sobrescribir"])


def measure_grading():
    """La mediana de tres: calificar el capítulo 5 justo después de «editarlo»."""
    out = subprocess.run(["bash", "scripts/tiempo_calificar.sh", "cap05"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    secs = sorted(float(m) for m in re.findall(r": ([\d.]+) s$", out, re.M))
    if len(secs) != 3:
        sys.exit(f"error: scripts/tiempo_calificar.sh no dio tres tiempos:\n{out}")
    return secs[1]


# clave: (qué se mide, la orden, cómo se escribe, cómo se mide)
MEASURES = {
    "bigrama": (
        "el programa del capítulo 5 entero: entrena el bigrama con sus estimaciones y dibuja la curva",
        "cargo run --bin 05_bigram", "s", lambda: measure_program("05_bigram")),
    "capitulo_6": (
        "el programa del capítulo 6 entero: entrena la cabeza y el bigrama, compara y dibuja",
        "cargo run --bin 06_autoatencion", "segundos", lambda: measure_program("06_autoatencion")),
    "paso_cuaderno": (
        "un paso de entrenamiento con la configuración `cuaderno` en la CPU (implementación rápida)",
        "cargo run --bin 07_gpt -- entrenar --preset cuaderno", "s", measure_notebook_step),
    "gpt_alumno_cpu": (
        "`cargo ejercicios --entrenar gpt`: el GPT del alumno, configuración `cpu` (2000 pasos), "
        "con las soluciones de referencia",
        "cargo test -q --test ejercicios -- --entrenar gpt --sobrescribir", "minutos", measure_student_gpt),
    "calificar": (
        "calificar el capítulo 5 justo después de editarlo (mediana de tres)",
        "bash scripts/tiempo_calificar.sh cap05", "s", measure_grading),
}


def spoken(seconds, form):
    """El texto de una medida, como lo lee el libro: «unos 15 segundos», «unos 7 minutos»."""
    if form == "segundos":
        return f"unos {round(seconds)} segundos"
    if form == "minutos":
        minutes = round(seconds / 60)
        return "un minuto" if minutes <= 1 else f"unos {minutes} minutos"
    if form == "s":
        return f"alrededor de {es(seconds, 1)} s"
    raise ValueError(form)


def load_measures():
    try:
        return json.loads(read(MEASURES_FILE))
    except FileNotFoundError:
        return {}


def places():
    """Los archivos que pueden citar medidas: las páginas del libro y el README."""
    src = os.path.join(ROOT, "book", "src")
    return [os.path.join(src, f) for f in sorted(os.listdir(src)) if f.endswith(".md")] + [os.path.join(ROOT, "README.md")]


def measures_table(saved):
    """Una lista (una tabla de seis columnas no cabe en la página): qué, cuánto, con qué orden,
    en qué máquina y cuándo."""
    lines = []
    for key in sorted(saved):
        m = saved[key]
        lines.append(f"- **{es(m['segundos'], 1)} s**: {m['que']}. Orden: `{m['orden']}`. Máquina: "
                     f"{m['maquina']}, {m['instrucciones']}; {m['fecha']}.")
    return "\n".join(lines) + "\n"


def put_measures(saved):
    """Escribe el texto de cada medida donde se cita, y la tabla del apéndice."""
    for path in places():
        text = read(path)
        new = MARK.sub(lambda m: f"<!--medida:{m[1]}-->{saved[m[1]]['texto']}<!--/medida-->"
                       if m[1] in saved else m[0], text)
        if new != text:
            write(path, new)
    write(MEASURES_TABLE, measures_table(saved))


def group_medidas(mode):
    saved = load_measures()
    if mode == "escribir":
        # El texto sale del valor: al escribir se vuelve a sacar (por si cambió `spoken`).
        for key, m in saved.items():
            if key in MEASURES and m.get("segundos") and m.get("forma"):
                m["texto"] = spoken(m["segundos"], m["forma"])
        write(MEASURES_FILE, json.dumps(saved, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    problems = []
    for key, m in saved.items():
        if key not in MEASURES:
            problems.append(f"book/medidas.json guarda «{key}», que este guion ya no sabe medir")
            continue
        missing = [f for f in ("que", "orden", "segundos", "forma", "texto", "maquina", "instrucciones", "fecha") if not m.get(f)]
        if missing:
            problems.append(f"la medida «{key}» no dice {', '.join(missing)}")
        elif m["texto"] != spoken(m["segundos"], m["forma"]):
            problems.append(f"la medida «{key}» dice «{m['texto']}», pero su valor se escribe «{spoken(m['segundos'], m['forma'])}»")
    if mode == "escribir" and not problems:
        put_measures(saved)
        return
    # Que el libro y el README citen exactamente lo guardado (y nada escrito a mano) lo
    # comprueba `cargo test` (tests/libro.rs), sin ejecutar nada: aquí, lo que sale del valor.
    if read(MEASURES_TABLE) != measures_table(saved):
        problems.append("book/src/tablas/medidas.md no es la tabla de las medidas guardadas")
    if problems:
        raise Fallo("\n".join(problems))
    print(f"Las {len(saved)} medidas guardadas dicen su máquina y su fecha, y su texto es el de su valor.")


def measure(keys):
    saved = load_measures()
    for key in keys:
        what, command, form, run = MEASURES[key]
        print(f"Midiendo «{key}»: {command}", flush=True)
        seconds = run()
        saved[key] = {
            "que": what, "orden": command, "segundos": round(seconds, 1), "forma": form,
            "texto": spoken(round(seconds, 1), form), "maquina": machine(), "instrucciones": instructions(),
            "fecha": TODAY,
        }
        print(f"  {es(seconds, 1)} s: «{saved[key]['texto']}»")
    write(MEASURES_FILE, json.dumps(saved, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    put_measures(saved)


GROUPS = {"cpu": group_cpu, "alumno": group_alumno, "escalera": group_escalera, "mas_alla": group_mas_alla,
          "textos": group_textos, "medidas": group_medidas}


def main():
    doc = __doc__.format(medidas="\n".join(f"  {k:<15}{v[0]}" for k, v in MEASURES.items()))
    args = sys.argv[1:]
    if not args or args[0] not in ("escribir", "comprobar", "medir"):
        sys.exit(doc)
    mode, names = args[0], args[1:]
    if mode == "medir":
        unknown = [n for n in names if n not in MEASURES]
        if unknown:
            sys.exit(f"error: no sé medir «{unknown[0]}»; las medidas son: {', '.join(MEASURES)}")
        measure(names or list(MEASURES))
        return
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        sys.exit(f"error: no hay grupo «{unknown[0]}»; los grupos son: {', '.join(GROUPS)}")
    failed = []
    for name in names or list(GROUPS):
        print(f"-- {name}", flush=True)
        try:
            GROUPS[name](mode)
        except Fallo as e:
            failed.append(name)
            print(f"error ({name}): {e}", file=sys.stderr)
    if failed:
        print(f"Si el cambio es intencionado: python3 scripts/cifras.py escribir {' '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
