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
