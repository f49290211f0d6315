//! Reads service manifests (multi-document YAML, as given to `kubectl apply`) into plugin `Service` records.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::runtime::Service;

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("{file}: document {doc}: invalid YAML: {detail}")]
    Yaml {
        /// The file.
        file: String,
        /// 1-based document index.
        doc: usize,
        /// The parser's message (with line and column).
        detail: String,
    },
    /// A required field is missing or has the wrong type.
    #[error("{file}: document {doc}: {field} {problem}")]
    Field {
        /// The file.
        file: String,
        /// 1-based document index.
        doc: usize,
        /// The field path, e.g. `metadata.name`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Reads every service in a YAML file; `-` reads standard input.
///
/// # Errors
/// See [`parse_services`]; also when the file cannot be read.
pub fn read_services(path: &Path, default_namespace: &str) -> Result<Vec<Service>, ManifestError> {
    let file = path.display().to_string();
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|source| ManifestError::Read {
        file: file.clone(),
        source,
    })?;
    parse_services(&text, &file, default_namespace)
}

/// Parses multi-document YAML into services. Empty documents are skipped; a
/// `List` (as printed by `kubectl get -o yaml`) contributes its items.
/// `metadata.namespace` defaults to `default_namespace`, like `kubectl -n`.
///
/// # Errors
/// Invalid YAML, or a document without `apiVersion`, `kind` or
/// `metadata.name`, or whose `spec` is not a mapping.
pub fn parse_services(
    text: &str,
    file: &str,
    default_namespace: &str,
) -> Result<Vec<Service>, ManifestError> {
    let mut services = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let doc_no = i + 1;
        let value = Value::deserialize(doc).map_err(|e| ManifestError::Yaml {
            file: file.to_string(),
            doc: doc_no,
            detail: e.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let items = match value.get("kind").and_then(Value::as_str) {
            Some("List") => value
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => vec![value],
        };
        for item in &items {
            services.push(to_service(item, file, doc_no, default_namespace)?);
        }
    }
    Ok(services)
}

fn to_service(
    v: &Value,
    file: &str,
    doc: usize,
    default_namespace: &str,
) -> Result<Service, ManifestError> {
    let field_err = |field: &'static str, problem: &str| ManifestError::Field {
        file: file.to_string(),
        doc,
        field,
        problem: problem.to_string(),
    };
    let string = |field: &'static str, value: Option<&Value>| -> Result<String, ManifestError> {
        match value {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) | None => Err(field_err(field, "is missing")),
            Some(_) => Err(field_err(field, "must be a string")),
        }
    };
    if !v.is_object() {
        return Err(field_err(
            "(document)",
            "must be a mapping with apiVersion, kind, metadata and spec",
        ));
    }
    let meta = v.get("metadata");
    let namespace = match meta.and_then(|m| m.get("namespace")) {
        None | Some(Value::Null) => default_namespace.to_string(),
        other => string("metadata.namespace", other)?,
    };
    let generation = match meta.and_then(|m| m.get("generation")) {
        None | Some(Value::Null) => 0,
        Some(g) => g
            .as_i64()
            .ok_or_else(|| field_err("metadata.generation", "must be an integer"))?,
    };
    let mut labels = Vec::new();
    match meta.and_then(|m| m.get("labels")) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, val) in map {
                let val = val
                    .as_str()
                    .ok_or_else(|| field_err("metadata.labels", "values must be strings"))?;
                labels.push((k.clone(), val.to_string()));
            }
        }
        Some(_) => return Err(field_err("metadata.labels", "must be a mapping")),
    }
    labels.sort();
    let spec = match v.get("spec") {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(s @ Value::Object(_)) => s.clone(),
        Some(_) => return Err(field_err("spec", "must be a mapping")),
    };
    Ok(Service {
        api_version: string("apiVersion", v.get("apiVersion"))?,
        kind: string("kind", v.get("kind"))?,
        namespace,
        name: string("metadata.name", meta.and_then(|m| m.get("name")))?,
        generation,
        labels,
        spec: spec.to_string(),
    })
}

/// The service a Kubernetes object of `api_version` `kind` stands for (its
/// labels sorted, `spec` as JSON text, `{}` when it has none).
#[must_use]
pub fn service_of_object(
    obj: &kube::core::DynamicObject,
    api_version: &str,
    kind: &str,
) -> Service {
    let mut labels: Vec<(String, String)> = obj
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    labels.sort();
    Service {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
        generation: obj.metadata.generation.unwrap_or(0),
        labels,
        spec: obj
            .data
            .get("spec")
            .map_or_else(|| "{}".to_string(), ToString::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "\
apiVersion: network.naas.io/v1alpha1
kind: AccessPorts
metadata: {name: web, namespace: tenant-a, labels: {b: '2', a: '1'}, generation: 3}
spec: {device: leaf1, vlan: 10}
---
---
apiVersion: network.naas.io/v1alpha1
kind: BgpPeering
metadata: {name: upstream}
";

    #[test]
    fn parses_documents_defaults_namespace_and_sorts_labels() {
        let s = parse_services(TWO, "x.yaml", "default").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].namespace, "tenant-a");
        assert_eq!(s[0].generation, 3);
        assert_eq!(s[0].labels[0], ("a".to_string(), "1".to_string()));
        assert_eq!(s[0].spec, r#"{"device":"leaf1","vlan":10}"#);
        assert_eq!(s[1].namespace, "default");
        assert_eq!(s[1].spec, "{}");
    }

    #[test]
    fn names_file_document_and_field_on_errors() {
        let e =
            parse_services("kind: X\napiVersion: v1\nmetadata: {}\n", "svc.yaml", "d").unwrap_err();
        assert_eq!(
            e.to_string(),
            "svc.yaml: document 1: metadata.name is missing"
        );
        let e = parse_services("a: [\n", "svc.yaml", "d").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("svc.yaml: document 1: invalid YAML"),
            "{e}"
        );
        let e = parse_services(
            "apiVersion: v1\nkind: X\nmetadata: {name: n}\nspec: [1]\n",
            "f",
            "d",
        )
        .unwrap_err();
        assert!(e.to_string().contains("spec must be a mapping"), "{e}");
    }

    #[test]
    fn lists_contribute_their_items() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: a/v1, kind: K, metadata: {name: one}}\n- {apiVersion: a/v1, kind: K, metadata: {name: two}}\n";
        let s = parse_services(text, "f", "ns").unwrap();
        assert_eq!(
            s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
    }
}
