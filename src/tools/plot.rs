//! Curvas de pérdida: un CSV para analizarlas y un SVG para verlas (y ponerlas en el libro).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::model::estimate::LossPoint;
use crate::tools::resources::{io_detail, write_atomically};

/// Escribe `dir/stem.csv` y `dir/stem.svg` (creando `dir` si hace falta) y devuelve sus rutas:
/// la curva de las estimaciones de la pérdida, sin la de cada paso (la de
/// [`save_loss_curve_with_steps`]).
pub fn save_loss_curve(
    dir: &Path,
    stem: &str,
    title: &str,
    points: &[LossPoint],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    save_loss_curve_with_steps(dir, stem, title, points, &[])
}

/// Como [`save_loss_curve`], pero la figura dibuja además la pérdida del lote de cada paso,
/// `(paso, pérdida)`, en una línea fina: la media de cada tramo de pasos seguidos (como
/// mucho [`MAX_STEP_POINTS`] tramos, de [`step_window`] pasos). El CSV solo lleva las
/// estimaciones.
pub fn save_loss_curve_with_steps(
    dir: &Path,
    stem: &str,
    title: &str,
    points: &[LossPoint],
    steps: &[(usize, f32)],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let csv = dir.join(format!("{stem}.csv"));
    let svg = dir.join(format!("{stem}.svg"));
    let drawing = draw_svg(title, points, steps)
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

/// Cuántos tramos de la pérdida de cada paso dibuja la figura, como mucho.
pub const MAX_STEP_POINTS: usize = 500;

/// Cuántos pasos seguidos promedia cada punto de la línea fina para `n` pasos: 1 si caben
/// todos, y si no los justos para no pasar de [`MAX_STEP_POINTS`] puntos (4 para los 2000
/// pasos de la configuración `cpu`, 20 para los 10 000 del bigrama).
pub fn step_window(n: usize) -> usize {
    n.div_ceil(MAX_STEP_POINTS).max(1)
}

/// La media de cada tramo de [`step_window`] pasos, en el último paso del tramo.
pub fn window_means(steps: &[(usize, f32)]) -> Vec<(usize, f32)> {
    steps
        .chunks(step_window(steps.len()))
        .map(|w| {
            let mean = w.iter().map(|&(_, l)| f64::from(l)).sum::<f64>() / w.len() as f64;
            (w[w.len() - 1].0, mean as f32)
        })
        .collect()
}

/// El paso entre las marcas del eje de la pérdida para el intervalo `[lo, hi]`: 1, 2, 2,5 o 5
/// por una potencia de diez, para que salgan entre 4 y 8 marcas.
fn tick_step(lo: f32, hi: f32) -> f32 {
    let span = f64::from((hi - lo).max(1e-3));
    let raw = span / 6.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| span / s <= 7.0)
        .unwrap_or(10.0 * power);
    step as f32
}

/// Los decimales que necesitan las marcas separadas por `step` (0,5 → 1; 0,25 → 2).
fn tick_decimals(step: f32) -> usize {
    (0..6)
        .find(|&d| {
            let scaled = f64::from(step) * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6)
}

/// El eje de la pérdida: de una marca a otra, con todas las pérdidas dentro (también la
/// última, la más baja): `(desde, hasta, paso entre marcas)`.
fn loss_axis(values: impl Iterator<Item = f32>) -> (f32, f32, f32) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let step = tick_step(lo, hi);
    let from = (lo / step).floor() * step;
    let mut to = (hi / step).ceil() * step;
    if to <= from {
        to = from + step;
    }
    (from, to, step)
}

/// Tamaños de letra de la figura, en píxeles del SVG: la figura mide 720 px de ancho y el
/// libro la muestra a unos 700, así que se leen casi a ese tamaño.
const TITLE_SIZE: u32 = 26;
const AXIS_SIZE: u32 = 20;
const LABEL_SIZE: u32 = 18;

/// La figura como texto SVG.
fn draw_svg(
    title: &str,
    points: &[LossPoint],
    steps: &[(usize, f32)],
) -> Result<String, Box<dyn std::error::Error>> {
    use crate::tools::pretty::{decimal, integer};
    let mut out = String::new();
    let root = SVGBackend::with_string(&mut out, (720, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let window = step_window(steps.len());
    let steps = window_means(steps);
    let max_step = points
        .iter()
        .map(|p| p.step)
        .chain(steps.iter().map(|s| s.0))
        .max()
        .unwrap_or(1)
        .max(1);
    let losses = points
        .iter()
        .flat_map(|p| [p.train, p.val])
        .chain(steps.iter().map(|s| s.1));
    let (from, to, tick) = loss_axis(losses);
    let decimals = tick_decimals(tick);
    let n_ticks = ((to - from) / tick).round() as usize + 1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", TITLE_SIZE))
        .margin(14)
        // Sitio para la última marca del eje de los pasos («10 000»), centrada en el borde.
        .margin_right(44)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .build_cartesian_2d(0..max_step, from..to)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("paso")
        .y_desc("pérdida")
        .axis_desc_style(("sans-serif", AXIS_SIZE))
        .label_style(("sans-serif", LABEL_SIZE))
        .x_labels(6)
        .y_labels(n_ticks)
        .x_label_formatter(&|s| integer(*s))
        .y_label_formatter(&|v| decimal(f64::from(*v), decimals))
        .draw()?;
    let light_blue = RGBColor(120, 165, 225);
    if !steps.is_empty() {
        let name = if window == 1 {
            "entrenamiento (el lote de cada paso)".to_string()
        } else {
            format!("entrenamiento (lotes; media de cada {window} pasos)")
        };
        chart
            .draw_series(LineSeries::new(steps, light_blue.stroke_width(1)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], light_blue));
    }
    let series = [
        (
            "entrenamiento (estimación)",
            BLUE,
            points.iter().map(|p| (p.step, p.train)).collect::<Vec<_>>(),
        ),
        (
            "validación (estimación)",
            RED,
            points.iter().map(|p| (p.step, p.val)).collect(),
        ),
    ];
    for (name, color, data) in series {
        chart.draw_series(data.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        chart
            .draw_series(LineSeries::new(data, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", LABEL_SIZE))
        .background_style(WHITE.mix(0.85))
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
