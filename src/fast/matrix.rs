//! Productos de matrices sobre trozos de memoria, con `gemm` (la biblioteca que usa candle
//! en la CPU). Las operaciones fusionadas los usan para multiplicar partes de un tensor (una
//! cabeza, un bloque de filas, una matriz traspuesta) sin copiarlas antes.

use num_traits::Float;

/// Una matriz dentro de un trozo de memoria: el elemento `(i, j)` está en
/// `data[i·rs + j·cs]`. Cambiar `rs` por `cs` la traspone sin mover nada.
#[derive(Clone, Copy)]
pub struct View<'a, T> {
    data: &'a [T],
    rs: usize,
    cs: usize,
}

impl<'a, T> View<'a, T> {
    pub fn rows(data: &'a [T], rs: usize) -> Self {
        Self { data, rs, cs: 1 }
    }

    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }

    /// La submatriz que empieza en la fila `i` (se salta las `i` primeras).
    pub fn skip_rows(self, i: usize) -> Self {
        Self {
            data: &self.data[i * self.rs..],
            ..self
        }
    }

    fn fits(&self, m: usize, n: usize) -> bool {
        m == 0 || n == 0 || (m - 1) * self.rs + (n - 1) * self.cs < self.data.len()
    }
}

/// `dst[..m, ..n] = [dst +] alpha · a[..m, ..k] · b[..k, ..n]`, con `dst` de filas separadas
/// `dst_rs` (y columnas contiguas).
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Float + 'static>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    dst_rs: usize,
    accumulate: bool,
    a: View<'_, T>,
    b: View<'_, T>,
    alpha: T,
) {
    assert!(
        a.fits(m, k) && b.fits(k, n) && View::rows(&*dst, dst_rs).fits(m, n),
        "producto de matrices fuera de los límites (error de programación)"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: los tres accesos caben en sus trozos (comprobado arriba) y `dst` no se solapa
    // con `a` ni con `b` (es un préstamo mutable aparte).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::one(),
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
