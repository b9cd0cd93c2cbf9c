"""Lo que comparten los guiones del libro: la norma de los números y la máquina que mide."""


def es(x, decimals=0):
    """Coma decimal y, desde cinco cifras, los miles separados con un espacio fino que no se
    parte (U+202F). Nunca coma de miles: es(14016.1, 1) == "14\u202f016,1"."""
    text = f"{abs(x):.{decimals}f}"
    whole, _, frac = text.partition(".")
    if len(whole) >= 5:
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = "\u202f".join(groups)
    return ("-" if x < 0 else "") + whole + ("," + frac if frac else "")


def de_es(text):
    """El número que escribe `es` (o un programa del libro con la misma norma), de vuelta:
    de_es("14\u202f016,1") == 14016.1. Falla con ValueError si `text` no sigue la norma."""
    import re
    if not re.fullmatch(r"-?(\d{1,4}|\d{1,3}(\u202f\d{3})+)(,\d+)?", text):
        raise ValueError(f"«{text}» no es un número con la norma del libro")
    return float(text.replace("\u202f", "").replace(",", "."))


def instructions():
    """Las instrucciones vectoriales de la CPU que cambian las velocidades: AVX2, AVX-512, AMX."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    found = [name for name, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f"), ("AMX", "amx_tile")) if flag in flags]
    missing = [name for name, flag in (("AVX-512", "avx512f"), ("AMX", "amx_tile")) if flag not in flags]
    text = " y ".join(found) if found else "sin AVX2"
    return text + (f" (sin {' ni '.join(missing)})" if missing else "")


def cpu_model():
    """El nombre de la CPU, como lo da el sistema."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "CPU desconocida"


def machine():
    """«AMD EPYC, 2 núcleos»: la máquina de una medida, para escribirla junto a ella."""
    import os
    return f"{cpu_model()}, {os.cpu_count()} núcleos"
