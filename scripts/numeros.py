"""La norma de los números del libro, para los guiones que escriben sus tablas."""


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
