//! The Wasm OCI artifact: media types (CNCF TAG Runtime and legacy), the config document, and the checks that pick a manifest's component layer.

use oci_client::manifest::{OciDescriptor, OciImageManifest};
use serde::{Deserialize, Serialize};
use wit_parser::{Resolve, WorldItem, WorldKey};

/// Config media type of the CNCF TAG Runtime Wasm OCI artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Layer media type of the CNCF TAG Runtime Wasm OCI artifact.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Config media type pushed by Kubewarden and wasm-to-oci.
pub const LEGACY_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v1+json";
/// Layer media type pushed by Kubewarden and wasm-to-oci.
pub const LEGACY_LAYER_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";

const CONFIG_TYPES: [&str; 2] = [WASM_CONFIG_MEDIA_TYPE, LEGACY_CONFIG_MEDIA_TYPE];
const LAYER_TYPES: [&str; 2] = [WASM_LAYER_MEDIA_TYPE, LEGACY_LAYER_MEDIA_TYPE];

/// The artifact's config document (`application/vnd.wasm.config.v0+json`).
///
/// Written here rather than taken from `oci-wasm`: oci-wasm 0.6 pins
/// oci-client 0.17, and naas uses oci-client 0.18. The fields follow the
/// CNCF TAG Runtime "Wasm OCI Artifact" layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// When the artifact was built, RFC 3339 (UTC).
    pub created: String,
    /// Who built it, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for components.
    pub os: String,
    /// The digests of the manifest's layers, in order.
    #[serde(default)]
    pub layer_digests: Vec<String>,
    /// The component's world; required when `os` is `wasip2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentWorld>,
}

/// What a component imports and exports: interface ids
/// (`naas:plugin/host@0.1.1`) or plain names (`describe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentWorld {
    /// Everything the component imports.
    #[serde(default)]
    pub imports: Vec<String>,
    /// Everything the component exports.
    #[serde(default)]
    pub exports: Vec<String>,
    /// The world the component targets, if declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ComponentWorld {
    /// Decodes the world of a component's bytes with `wit_component::decode`.
    ///
    /// # Errors
    /// A message when the bytes are not a component (a core module, a WIT
    /// package, or not Wasm at all).
    pub fn of_component(bytes: &[u8]) -> Result<Self, String> {
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
            Some([0, b'a', b's', b'm', _, _, 0, 0]) => {
                return Err("it is a core Wasm module; build it for wasm32-wasip2".into());
            }
            _ => return Err("it does not start with the Wasm component header".into()),
        }
        match wit_component::decode(bytes).map_err(|e| format!("{e:#}"))? {
            wit_component::DecodedWasm::Component(resolve, world) => {
                let world = &resolve.worlds[world];
                // Types a world `use`s are not imports of the component.
                let names = |items: &mut dyn Iterator<Item = (&WorldKey, &WorldItem)>| {
                    items
                        .filter(|(_, item)| !matches!(item, WorldItem::Type { .. }))
                        .map(|(k, _)| key_name(&resolve, k))
                        .collect()
                };
                Ok(Self {
                    imports: names(&mut world.imports.iter()),
                    exports: names(&mut world.exports.iter()),
                    target: None,
                })
            }
            wit_component::DecodedWasm::WitPackage(..) => {
                Err("it is a WIT package, not a component".into())
            }
        }
    }
}

fn key_name(resolve: &Resolve, key: &WorldKey) -> String {
    match key {
        WorldKey::Name(n) => n.clone(),
        WorldKey::Interface(id) => resolve
            .id_of(*id)
            .unwrap_or_else(|| format!("interface#{}", id.index())),
    }
}

/// The one component layer of a Wasm plugin manifest.
///
/// # Errors
/// A message saying which media types were found and which are expected,
/// when the config is not a Wasm config or there is not exactly one Wasm
/// layer.
pub fn component_layer(manifest: &OciImageManifest) -> Result<&OciDescriptor, (String, String)> {
    let wasm: Vec<&OciDescriptor> = manifest
        .layers
        .iter()
        .filter(|l| LAYER_TYPES.contains(&l.media_type.as_str()))
        .collect();
    let config_ok = CONFIG_TYPES.contains(&manifest.config.media_type.as_str());
    match (config_ok, wasm.as_slice()) {
        (true, [layer]) => Ok(layer),
        _ => {
            let layers: Vec<&str> = manifest
                .layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect();
            let found = format!(
                "config {} and {} layer(s) [{}]",
                manifest.config.media_type,
                layers.len(),
                layers.join(", ")
            );
            let expected = format!(
                "config {} and exactly one layer {}",
                CONFIG_TYPES.join(" or "),
                LAYER_TYPES.join(" or ")
            );
            Err((found, expected))
        }
    }
}

/// The Accept list for manifests: OCI and Docker image manifests (indexes
/// are asked for only to refuse them with a clear message).
pub(super) const MANIFEST_ACCEPT: &[&str] = &[
    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// Parses a manifest, refusing indexes and anything that is not an image
/// manifest with the media types found.
pub(super) fn parse_manifest(bytes: &[u8]) -> Result<OciImageManifest, (String, String)> {
    let expected = || {
        format!(
            "an image manifest ({}) with a Wasm config and layer",
            oci_client::manifest::OCI_IMAGE_MEDIA_TYPE
        )
    };
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| (format!("a manifest that is not JSON ({e})"), expected()))?;
    if value.get("manifests").is_some() {
        let mt = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or("an index");
        return Err((format!("{mt} (a multi-platform index)"), expected()));
    }
    serde_json::from_value(value).map_err(|e| (format!("an unreadable manifest ({e})"), expected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(config: &str, layers: &[&str]) -> OciImageManifest {
        let d = |mt: &str| OciDescriptor {
            media_type: mt.into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            size: 1,
            ..Default::default()
        };
        OciImageManifest {
            config: d(config),
            layers: layers.iter().map(|l| d(l)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_current_and_legacy_media_types() {
        let m = manifest(WASM_CONFIG_MEDIA_TYPE, &[WASM_LAYER_MEDIA_TYPE]);
        assert_eq!(
            component_layer(&m).unwrap().media_type,
            WASM_LAYER_MEDIA_TYPE
        );
        let m = manifest(LEGACY_CONFIG_MEDIA_TYPE, &[LEGACY_LAYER_MEDIA_TYPE]);
        assert!(component_layer(&m).is_ok());
    }

    #[test]
    fn refuses_container_images_and_ambiguous_artifacts() {
        let m = manifest(
            "application/vnd.oci.image.config.v1+json",
            &["application/vnd.oci.image.layer.v1.tar+gzip"],
        );
        let (found, expected) = component_layer(&m).unwrap_err();
        assert!(
            found.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
            "{found}"
        );
        assert!(expected.contains(WASM_LAYER_MEDIA_TYPE), "{expected}");
        let m = manifest(
            WASM_CONFIG_MEDIA_TYPE,
            &[WASM_LAYER_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE],
        );
        assert!(component_layer(&m).unwrap_err().0.contains("2 layer(s)"));
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(parse_manifest(index).unwrap_err().0.contains("index"));
    }

    #[test]
    fn config_serialises_with_the_spec_field_names() {
        let c = WasmConfig {
            created: "2026-01-01T00:00:00Z".into(),
            author: None,
            architecture: "wasm".into(),
            os: "wasip2".into(),
            layer_digests: vec!["sha256:ab".into()],
            component: Some(ComponentWorld {
                imports: vec!["naas:plugin/host@0.1.1".into()],
                exports: vec!["describe".into()],
                target: None,
            }),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["layerDigests"][0], "sha256:ab");
        assert_eq!(v["component"]["imports"][0], "naas:plugin/host@0.1.1");
        assert!(v.get("author").is_none());
    }

    #[test]
    fn world_decoding_refuses_non_components() {
        let e = ComponentWorld::of_component(b"\0asm\x01\0\0\0").unwrap_err();
        assert!(e.contains("core Wasm module"), "{e}");
        assert!(ComponentWorld::of_component(b"not wasm").is_err());
        assert!(ComponentWorld::of_component(b"\0asm\x0d\0\x01\0garbage").is_err());
    }
}
