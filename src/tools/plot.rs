//! Curvas de pérdida: un CSV para analizarlas y un SVG para verlas (y ponerlas en el libro).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::model::estimate::LossPoint;
use crate::tools::resources::{io_detail, write_atomically};

/// Escribe `dir/stem.csv` y `dir/stem.svg` (creando `dir` si hace falta) y devuelve sus rutas.
pub fn save_loss_curve(
    dir: &Path,
    stem: &str,
    title: &str,
    points: &[LossPoint],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let csv = dir.join(format!("{stem}.csv"));
    let svg = dir.join(format!("{stem}.svg"));
    let drawing = draw_svg(title, points)
        .map_err(|e| anyhow::anyhow!("no se pudo dibujar «{}»: {e}", svg.display()))?;
    // Cada archivo, entero o nada (y la carpeta se crea si hace falta).
    for (path, bytes) in [
        (&csv, to_csv(points).into_bytes()),
        (&svg, drawing.into_bytes()),
    ] {
        write_atomically(path, &bytes).map_err(|e| {
            anyhow::anyhow!(
                "no se pudo escribir «{}»: {}",
                path.display(),
                io_detail(&e)
            )
        })?;
    }
    Ok((csv, svg))
}

/// El CSV: `paso,entrenamiento,validacion`.
pub fn to_csv(points: &[LossPoint]) -> String {
    let mut out = String::from("paso,entrenamiento,validacion\n");
    for p in points {
        out.push_str(&format!("{},{:.6},{:.6}\n", p.step, p.train, p.val));
    }
    out
}

/// La figura como texto SVG.
fn draw_svg(title: &str, points: &[LossPoint]) -> Result<String, Box<dyn std::error::Error>> {
    let mut out = String::new();
    let root = SVGBackend::with_string(&mut out, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_step = points.iter().map(|p| p.step).max().unwrap_or(1).max(1);
    let losses = points.iter().flat_map(|p| [p.train, p.val]);
    let (lo, hi) = losses.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.08).max(0.05);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0..max_step, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("paso")
        .y_desc("pérdida")
        .draw()?;
    let series = [
        (
            "entrenamiento",
            BLUE,
            points.iter().map(|p| (p.step, p.train)).collect::<Vec<_>>(),
        ),
        (
            "validación",
            RED,
            points.iter().map(|p| (p.step, p.val)).collect(),
        ),
    ];
    for (name, color, data) in series {
        chart
            .draw_series(LineSeries::new(data, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    drop(chart); // los dos toman prestado `out`
    drop(root);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_csv_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let pts = [
            LossPoint {
                step: 0,
                train: 4.9,
                val: 4.95,
            },
            LossPoint {
                step: 100,
                train: 3.0,
                val: 3.1,
            },
        ];
        let (csv, svg) =
            save_loss_curve(&dir.path().join("salidas"), "curva", "Prueba", &pts).unwrap();
        assert_eq!(
            std::fs::read_to_string(csv).unwrap(),
            "paso,entrenamiento,validacion\n0,4.900000,4.950000\n100,3.000000,3.100000\n"
        );
        let svg = std::fs::read_to_string(svg).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("validación"));
    }
}
