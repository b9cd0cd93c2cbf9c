//! AdamW con la fórmula de `torch.optim.AdamW`, escrito sobre tensores de candle.
//!
//! `candle_nn::AdamW` hace la misma cuenta, pero guarda sus momentos en privado; para poder
//! guardarlos en un punto de control y reanudar exactamente, tenemos el nuestro. Una prueba
//! comprueba que los dos dan los mismos pesos.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// Los hiperparámetros de AdamW (los valores por defecto de PyTorch, salvo la tasa).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl AdamWConfig {
    /// `torch.optim.AdamW(params, lr=lr)`: betas (0.9, 0.999), eps 1e-8, decaimiento 0.01.
    pub fn with_lr(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// La tasa de aprendizaje de cada paso (contado desde 0), para [`AdamW::lr_schedule`].
pub type LrFn = std::sync::Arc<dyn Fn(usize) -> f64 + Send + Sync>;

/// El optimizador: por cada parámetro, la media móvil del gradiente (`m`) y de su cuadrado (`v`).
pub struct AdamW {
    pub config: AdamWConfig,
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Pasos dados (el `t` de la corrección del sesgo).
    pub step: u64,
    /// Si la tasa cambia con el paso, quién la da: cada [`AdamW::step`] pone en `config.lr`
    /// la de su paso. `None` (lo normal): siempre `config.lr`.
    pub lr_schedule: Option<LrFn>,
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW")
            .field("config", &self.config)
            .field("parámetros", &self.vars.len())
            .field("step", &self.step)
            .field("lr_schedule", &self.lr_schedule.is_some())
            .finish()
    }
}

impl AdamW {
    pub fn new(vars: Vec<Var>, config: AdamWConfig) -> Result<Self> {
        let m = vars
            .iter()
            .map(|v| v.as_tensor().zeros_like())
            .collect::<Result<Vec<_>>>()?;
        // Tensores distintos (no `m.clone()`, que compartiría memoria): la versión rápida
        // (`crate::fast::kernels`) escribe en ellos en su sitio.
        let v = vars
            .iter()
            .map(|v| v.as_tensor().zeros_like())
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            vars,
            m,
            v,
            step: 0,
            lr_schedule: None,
        })
    }

    /// Recupera el estado guardado: momentos `m` y `v` (en el orden de `vars`) y el paso.
    pub fn with_state(
        vars: Vec<Var>,
        config: AdamWConfig,
        m: Vec<Tensor>,
        v: Vec<Tensor>,
        step: u64,
    ) -> Result<Self> {
        for ((var, m), v) in vars.iter().zip(&m).zip(&v) {
            if m.shape() != var.shape() || v.shape() != var.shape() {
                candle_core::bail!("los momentos no tienen la forma del parámetro");
            }
        }
        if m.len() != vars.len() || v.len() != vars.len() {
            candle_core::bail!("faltan momentos del optimizador");
        }
        Ok(Self {
            config,
            vars,
            m,
            v,
            step,
            lr_schedule: None,
        })
    }

    /// Los momentos `m` y `v`, en el orden de los parámetros.
    pub fn moments(&self) -> (&[Tensor], &[Tensor]) {
        (&self.m, &self.v)
    }

    /// Los parámetros que actualiza, en orden.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    // ANCHOR: step
    /// Un paso: `θ ← θ·(1 − lr·λ) − lr · m̂ / (√v̂ + ε)`, con `m̂`, `v̂` corregidos del sesgo.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        if let Some(lr_at) = &self.lr_schedule {
            self.config.lr = lr_at(usize::try_from(self.step).unwrap_or(usize::MAX));
        }
        self.step = self.step.saturating_add(1);
        let c = self.config;
        // βᵗ es 0 mucho antes de 2³¹ pasos: más allá, el exponente se queda ahí.
        let t = i32::try_from(self.step).unwrap_or(i32::MAX);
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        for ((var, m), v) in self.vars.iter().zip(&mut self.m).zip(&mut self.v) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            *m = ((&*m * c.beta1)? + (g * (1.0 - c.beta1))?)?;
            *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&*m / bias1)?;
            let v_hat = (&*v / bias2)?;
            let decayed = (var.as_tensor() * (1.0 - c.lr * c.weight_decay))?;
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            var.set(&(decayed - (update * c.lr)?)?)?;
        }
        Ok(())
    }
    // ANCHOR_END: step
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::Optimizer as _;

    /// Pesos iniciales `(2, 3)` y una pérdida cuadrática cuyo gradiente no es trivial.
    fn setup() -> (Tensor, impl Fn(&Var) -> Tensor) {
        let dev = Device::Cpu;
        let init = Tensor::new(&[[0.5f32, -1.0, 2.0], [0.1, 0.2, -0.3]], &dev).unwrap();
        let x = Tensor::new(&[[1.0f32, 2.0], [-1.0, 0.5], [0.3, 0.3]], &dev).unwrap();
        let loss = move |w: &Var| {
            w.as_tensor()
                .matmul(&x)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        (init, loss)
    }

    fn max_diff(p: &Tensor, q: &Tensor) -> f32 {
        (p - q)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn matches_candle_adamw() {
        let (init, loss) = setup();
        let ours = Var::from_tensor(&init.copy().unwrap()).unwrap();
        let theirs = Var::from_tensor(&init.copy().unwrap()).unwrap();
        let cfg = AdamWConfig::with_lr(0.05);
        let mut a = AdamW::new(vec![ours.clone()], cfg).unwrap();
        let mut b = candle_nn::AdamW::new(
            vec![theirs.clone()],
            candle_nn::ParamsAdamW {
                lr: cfg.lr,
                beta1: cfg.beta1,
                beta2: cfg.beta2,
                eps: cfg.eps,
                weight_decay: cfg.weight_decay,
            },
        )
        .unwrap();
        for _ in 0..10 {
            a.step(&loss(&ours).backward().unwrap()).unwrap();
            b.step(&loss(&theirs).backward().unwrap()).unwrap();
        }
        let diff = max_diff(ours.as_tensor(), theirs.as_tensor());
        assert!(diff < 1e-6, "diferencia {diff}");
        let moved = max_diff(ours.as_tensor(), &init);
        assert!(moved > 0.1, "los pesos apenas se movieron: {moved}");
        assert_eq!(a.step, 10);
    }
}
