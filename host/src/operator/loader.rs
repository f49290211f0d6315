//! Every replica, leader or not, loads the Plugins the leader has accepted (read-only), so that admission answers on every replica and `/readyz` can mean "plugins loaded".
//!
//! A Plugin is loaded here once its status says `Ready` for its current
//! generation, at the digest its status records: the leader's Plugin
//! controller decides what is served, followers copy it. Nothing here
//! writes to the API or starts a controller.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Resource, ResourceExt};

use super::{Context, Plugin};

/// Watches Plugins and keeps the accepted ones loaded, until the watch ends.
pub(super) async fn run(ctx: Arc<Context>) {
    let api = Api::<Plugin>::all(ctx.client.clone());
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    // Names seen in the current (re)list, to forget Plugins deleted meanwhile.
    let mut listed = BTreeSet::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => listed.clear(),
            Ok(Event::InitApply(p)) => {
                listed.insert(p.name_any());
                follow(&ctx, &p).await;
            }
            Ok(Event::InitDone) => {
                for gone in ctx.plugin_names().difference(&listed) {
                    ctx.remove_plugin(gone);
                }
                ctx.plugins_listed();
            }
            Ok(Event::Apply(p)) => follow(&ctx, &p).await,
            Ok(Event::Delete(p)) => ctx.remove_plugin(&p.name_any()),
            Err(e) => tracing::warn!("watching Plugins: {e}"),
        }
    }
}

/// The manifest digest the leader accepted for `p`: its status is `Ready`
/// for its current generation.
fn accepted(p: &Plugin) -> Option<&str> {
    let status = p.status.as_ref()?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
    (ready.status == "True" && ready.observed_generation == p.meta().generation)
        .then_some(status.digest.as_deref())
        .flatten()
}

/// Loads `p` at its accepted digest, unless that is what is loaded already.
async fn follow(ctx: &Context, p: &Plugin) {
    let name = p.name_any();
    if p.meta().deletion_timestamp.is_some() {
        return;
    }
    let Some(digest) = accepted(p) else {
        return;
    };
    if ctx.loaded_digest(&name).as_deref() == Some(digest) {
        return;
    }
    match super::plugins::load(p, ctx).await {
        Ok(loaded) if loaded.manifest_digest == digest => {
            ctx.install_plugin(&name, loaded, false);
        }
        // The image moved on since the leader accepted it: wait for the
        // leader's next status.
        Ok(loaded) => tracing::info!(
            plugin = %name,
            "not loading {}: the Plugin's status accepts {digest}",
            loaded.manifest_digest
        ),
        Err(e) => tracing::warn!(plugin = %name, "loading the accepted plugin: {e}"),
    }
}
