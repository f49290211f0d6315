//! Read-only mirrors of cluster objects (reflector stores) that reconciles read instead of asking the API server, each knowing when its first full list has arrived.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use futures_util::StreamExt;
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, watcher};
use serde::de::DeserializeOwned;

/// The objects one watch sees, kept up to date.
///
/// # Guarantees
/// [`Mirror::all`] and [`Mirror::get`] wait until the first full list has
/// arrived, so no reconcile judges a service against a partial inventory.
#[derive(Clone)]
pub struct Mirror<K: Resource + 'static>
where
    K::DynamicType: Hash + Eq,
{
    store: Store<K>,
    listed: tokio::sync::watch::Receiver<bool>,
}

impl<K> Mirror<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Hash + Eq + Clone,
{
    /// A mirror of what `api` lists under `wc`, and the future that keeps it
    /// up to date (run it for as long as the mirror is used).
    pub fn start(api: Api<K>, wc: watcher::Config) -> (Self, impl Future<Output = ()> + Send) {
        let (store, writer) = reflector::store::<K>();
        let (tx, listed) = tokio::sync::watch::channel(false);
        let feed = reflector::reflector(writer, watcher(api, wc).default_backoff()).for_each(
            move |event| {
                // (kube-runtime's Store::wait_until_ready keeps one waker, so
                // several reconciles waiting on it at once hung in the e2e suite.)
                if matches!(event, Ok(watcher::Event::InitDone)) {
                    tx.send_replace(true);
                }
                std::future::ready(())
            },
        );
        (Self { store, listed }, feed)
    }

    async fn ready(&self) {
        let mut listed = self.listed.clone();
        let _ = listed.wait_for(|done| *done).await;
    }

    /// Whether the first full list has arrived.
    pub fn is_listed(&self) -> bool {
        *self.listed.borrow()
    }

    /// Every object seen so far, without waiting (for watch mappers).
    pub fn snapshot(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// Every object, once listed.
    pub async fn all(&self) -> Vec<Arc<K>> {
        self.ready().await;
        self.store.state()
    }

    /// The object `name` (in `namespace` for namespaced kinds), once listed.
    pub async fn get(&self, name: &str, namespace: Option<&str>) -> Option<Arc<K>> {
        self.ready().await;
        let mut r = ObjectRef::<K>::new(name);
        if let Some(ns) = namespace {
            r = r.within(ns);
        }
        self.store.get(&r)
    }
}
