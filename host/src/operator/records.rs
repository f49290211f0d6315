//! The applied-config records as ConfigMaps: `naas-applied-<device>` in the operator's namespace, one gzip-compressed JSON document per device.
//!
//! A record maps each service key (`Kind.namespace.name`) to the config
//! naas applied for it on the device, the shape of `naas push`'s state
//! files. It is stored compressed under one `binaryData` key
//! ([`RECORD_KEY`]): one key (not one per service) keeps the API server's
//! field-ownership bookkeeping of a replace from growing with the number of
//! services, and compression keeps a device with thousands of services well
//! under the API's object size limit. Records written before, with one
//! `data` key per service, are still read; the next write converts them.
//! Read one with
//! `kubectl get cm -n naas-system naas-applied-<device> -o jsonpath='{.binaryData.record\.json\.gz}' | base64 -d | gunzip`.

use std::io::{Read, Write};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, PostParams};

use super::{Context, Error};
use crate::applied::Fragments;

/// Label on every applied-config ConfigMap.
pub const APPLIED_LABEL: &str = "naas.io/applied-config";

/// Annotation of a device's record: config text naas removed from the
/// device (old fragments of changed or deleted services, at most
/// [`crate::applied::MAX_REMOVED_BYTES`]), so a drift check sees lines that come back.
pub const REMOVED_ANNOTATION: &str = "naas.io/removed";

/// Annotation naming the device a record belongs to.
const DEVICE_ANNOTATION: &str = "naas.io/device";

/// The `binaryData` key holding a record: its fragments as gzip-compressed JSON.
pub const RECORD_KEY: &str = "record.json.gz";

/// Most bytes a record may decompress to (well above what a ConfigMap of
/// at most 1 MiB compressed from config text holds; a damaged or hostile
/// record stops here rather than filling memory).
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// One device's applied configs by service key, its resourceVersion
/// (`None`: no ConfigMap yet), and the config naas took off it (for drift:
/// lines that come back), as the annotation [`REMOVED_ANNOTATION`] keeps it.
pub(super) type Record = (Fragments, Option<String>, String);

/// The name of `device`'s record.
fn name_of(device: &str) -> String {
    format!("naas-applied-{device}")
}

/// The device a record ConfigMap belongs to.
pub(super) fn device_of(cm: &ConfigMap) -> Option<String> {
    cm.annotations().get(DEVICE_ANNOTATION).cloned()
}

/// The fragments a record ConfigMap holds, by service key.
///
/// # Errors
/// A record that is not gzip-compressed JSON of service keys to config
/// text, naming the ConfigMap.
pub fn fragments_of(cm: &ConfigMap) -> Result<Fragments, Error> {
    let Some(blob) = cm.binary_data.as_ref().and_then(|b| b.get(RECORD_KEY)) else {
        // Written by an older naas: one data key per service.
        return Ok(cm.data.clone().unwrap_or_default());
    };
    let damaged = |detail: String| {
        Error::Object(format!(
            "the applied-config record {}/{} is damaged ({RECORD_KEY}: {detail}); it is how naas knows which lines are its own: restore it from a backup",
            cm.namespace().unwrap_or_default(),
            cm.name_any()
        ))
    };
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(blob.0.as_slice())
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| damaged(e.to_string()))?;
    if json.len() as u64 > MAX_RECORD_BYTES {
        return Err(damaged(format!(
            "more than {MAX_RECORD_BYTES} bytes uncompressed"
        )));
    }
    serde_json::from_slice(&json).map_err(|e| damaged(e.to_string()))
}

/// The record a ConfigMap holds.
///
/// # Errors
/// A damaged record ([`fragments_of`]).
pub(super) fn record_in(cm: &ConfigMap) -> Result<Record, Error> {
    let removed = cm
        .annotations()
        .get(REMOVED_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    Ok((fragments_of(cm)?, cm.resource_version(), removed))
}

/// One device's record (empty with no resourceVersion when it has none yet).
///
/// # Errors
/// An API error, or a damaged record.
pub(super) async fn record_of(ctx: &Context, device: &str) -> Result<Record, Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let cm = api
        .get_opt(&name_of(device))
        .await
        .map_err(|e| Error::Kube(format!("reading the config applied to {device}: {e}")))?;
    cm.as_ref().map_or_else(|| Ok(Record::default()), record_in)
}

/// Writes `device`'s record: creates its ConfigMap, or replaces it when
/// `resource_version` (the version it was read at) is given. Returns the
/// new resourceVersion.
///
/// # Errors
/// An API error (a conflict when someone else wrote the record since).
pub(super) async fn write(
    ctx: &Context,
    device: &str,
    fragments: &Fragments,
    removed: &str,
    resource_version: Option<&str>,
) -> Result<Option<String>, Error> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name_of(device)),
            namespace: Some(ctx.namespace.clone()),
            labels: Some([(APPLIED_LABEL.to_string(), "true".to_string())].into()),
            annotations: Some(
                [
                    (DEVICE_ANNOTATION.to_string(), device.to_string()),
                    (REMOVED_ANNOTATION.to_string(), removed.to_string()),
                ]
                .into(),
            ),
            resource_version: resource_version.map(String::from),
            ..ObjectMeta::default()
        },
        binary_data: Some([(RECORD_KEY.to_string(), ByteString(compress(fragments)))].into()),
        ..ConfigMap::default()
    };
    let result = if resource_version.is_some() {
        api.replace(&name_of(device), &PostParams::default(), &cm)
            .await
    } else {
        api.create(&PostParams::default(), &cm).await
    };
    result
        .map(|cm| cm.resource_version())
        .map_err(|e| Error::Kube(format!("recording the config applied to {device}: {e}")))
}

/// `fragments` as gzip-compressed JSON.
fn compress(fragments: &Fragments) -> Vec<u8> {
    let json = serde_json::to_vec(fragments).unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&json);
    gz.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_cm(binary: Option<Vec<u8>>, data: Option<Fragments>) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("naas-applied-leaf1".into()),
                namespace: Some("naas-system".into()),
                ..ObjectMeta::default()
            },
            binary_data: binary.map(|b| [(RECORD_KEY.to_string(), ByteString(b))].into()),
            data,
            ..ConfigMap::default()
        }
    }

    #[test]
    fn a_record_reads_back_what_was_written() {
        let fragments: Fragments = (0..500)
            .map(|i| {
                (
                    format!("AccessPorts.tenant-a.svc-{i}"),
                    format!(
                        "interface Ethernet{i}\n   switchport access vlan {}\n",
                        100 + i
                    ),
                )
            })
            .collect();
        let blob = compress(&fragments);
        let plain = serde_json::to_vec(&fragments).unwrap().len();
        assert!(blob.len() * 4 < plain, "{} of {plain} bytes", blob.len());
        assert_eq!(
            fragments_of(&record_cm(Some(blob), None)).unwrap(),
            fragments
        );
    }

    #[test]
    fn a_record_of_an_older_naas_is_read_from_its_data_keys() {
        let old: Fragments = [(
            "AccessPorts.a.b".to_string(),
            "interface Ethernet1\n".to_string(),
        )]
        .into();
        assert_eq!(
            fragments_of(&record_cm(None, Some(old.clone()))).unwrap(),
            old
        );
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_it() {
        let err = fragments_of(&record_cm(Some(b"not gzip".to_vec()), None)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("naas-system/naas-applied-leaf1"), "{text}");
        assert!(text.contains(RECORD_KEY), "{text}");
        // Valid gzip, not a record.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"[1, 2]").unwrap();
        let err = fragments_of(&record_cm(Some(gz.finish().unwrap()), None)).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn a_record_decompressing_past_the_bound_is_refused() {
        // 65 MiB of zeros compress to about 64 KiB.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..65 {
            gz.write_all(&zeros).unwrap();
        }
        let err = fragments_of(&record_cm(Some(gz.finish().unwrap()), None)).unwrap_err();
        assert!(err.to_string().contains("bytes uncompressed"), "{err}");
    }
}
