//! Runs plugin work (compiles, loads, evaluations) on tokio's blocking pool, a bounded number at a time.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::error::{Error, RuntimeResult};

/// Where async code (the CLI, the operator, the admission webhook) runs
/// plugin work.
///
/// Guest code and compiles are CPU-bound and block: WASI's synchronous
/// bindings even drive a tokio runtime of their own when a guest writes to
/// stderr (a panic message, an allocation failure), which panics on an
/// async worker thread. So the work runs on tokio's blocking pool, as
/// Kubewarden's policy server evaluates policies, behind a semaphore that
/// bounds how many calls run at once. Each call is bounded in time by its
/// plugin's epoch deadline, so a misbehaving plugin holds one permit for at
/// most its deadline, and the others go on meanwhile.
///
/// # Caveats
/// [`Executor::run`] must be called within a tokio runtime.
#[derive(Debug, Clone)]
pub struct Executor {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Executor {
    /// An executor running at most `max_concurrent` (at least 1) jobs at once.
    #[must_use]
    pub fn new(max_concurrent: usize) -> Self {
        let size = max_concurrent.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many jobs may run at once.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `job` on the blocking pool once a permit is free.
    ///
    /// The permit is held by the job itself, so a caller that stops waiting
    /// (a cancelled request) does not free it before the job ends.
    ///
    /// # Errors
    /// [`Error::HostPanic`] when the job panicked: the panic stays in that
    /// job, and the message says what it was.
    pub async fn run<T, F>(&self, job: F) -> RuntimeResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::HostPanic("the plugin executor was shut down".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| {
            let detail = match e.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic with no message".into()),
                Err(e) => e.to_string(),
            };
            Error::HostPanic(detail)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_is_an_error_and_the_executor_goes_on() {
        let ex = Executor::new(2);
        let e = ex
            .run(|| -> u32 { panic!("boom in a job") })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("boom in a job"), "{e}");
        assert_eq!(ex.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_size_jobs_run_at_once() {
        let ex = Executor::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..12)
            .map(|_| {
                let (ex, running, peak) = (ex.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    ex.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=3).contains(&peak), "peak concurrency {peak}");
    }
}
