//! Damaged compiled artifacts in the cache are detected by their checksum, deleted and recompiled, through the `naas` binary: never loaded.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use naas::digest::Digest;

fn naas_describe(cache: &Path, plugin: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naas"))
        .args([
            "--cache-dir",
            cache.to_str().unwrap(),
            "-v",
            "describe",
            "-o",
            "json",
        ])
        .args([
            "--plugin",
            &common::plugin_path(plugin).display().to_string(),
        ])
        .env_remove("NAAS_LOG")
        .output()
        .expect("running naas")
}

/// The cached artifact of built plugin `plugin` (e.g. `access_ports`).
fn artifact_of(cache: &Path, plugin: &str) -> PathBuf {
    let digest = Digest::of(&std::fs::read(common::plugin_path(plugin)).unwrap());
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(digest.hex()) && name.ends_with(".cwasm")
        })
        .unwrap_or_else(|| panic!("no artifact of {plugin} in {}", cache.display()))
}

/// The byte range of the ELF section `.text` in a compiled artifact.
fn text_section(elf: &[u8]) -> std::ops::Range<usize> {
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([elf[o], elf[o + 1]]));
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at =
        |o: usize| usize::try_from(u64::from_le_bytes(elf[o..o + 8].try_into().unwrap())).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF", "artifacts are ELF files");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let section = |i: usize| shoff + i * shentsize;
    let names = u64_at(section(shstrndx) + 0x18);
    for i in 0..shnum {
        let sh = section(i);
        let name_at = names + u32_at(sh);
        if elf[name_at..].starts_with(b".text\0") {
            let (offset, size) = (u64_at(sh + 0x18), u64_at(sh + 0x20));
            return offset..offset + size;
        }
    }
    panic!("no .text section");
}

/// Damages the cache with `damage`, then checks the next start recompiles,
/// says so, and serves the same answer.
fn assert_recovers(case: &str, damage: impl FnOnce(&Path, &Path)) {
    let cache = tempfile::tempdir().unwrap();
    let first = naas_describe(cache.path(), "access_ports");
    assert!(first.status.success());
    let artifact = artifact_of(cache.path(), "access_ports");
    damage(cache.path(), &artifact);
    let again = naas_describe(cache.path(), "access_ports");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{case}: {stderr}");
    assert!(
        stderr.contains("discarding a damaged compiled artifact"),
        "{case}: {stderr}"
    );
    assert!(
        stderr.contains("compiled plugin"),
        "{case}: recompiled: {stderr}"
    );
    assert_eq!(first.stdout, again.stdout, "{case}: the same answer");
    // And the rewritten artifact is trusted on the next start.
    let third = naas_describe(cache.path(), "access_ports");
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(
        third.status.success() && !stderr.contains("compiled plugin"),
        "{case}: {stderr}"
    );
}

#[test]
fn flipped_bytes_in_the_text_section_are_detected() {
    assert_recovers("flipped .text", |_, artifact| {
        let mut bytes = std::fs::read(artifact).unwrap();
        let text = text_section(&bytes);
        assert!(text.len() > 8192, "{text:?}");
        let middle = text.start + text.len() / 2;
        // A few KiB of garbage in the middle of the code, as seen in the wild.
        for b in &mut bytes[middle - 2048..middle + 2048] {
            *b = 0xff;
        }
        std::fs::write(artifact, bytes).unwrap();
    });
}

#[test]
fn a_truncated_artifact_is_detected() {
    assert_recovers("truncated", |_, artifact| {
        let bytes = std::fs::read(artifact).unwrap();
        std::fs::write(artifact, &bytes[..bytes.len() / 2]).unwrap();
    });
}

#[test]
fn an_empty_artifact_is_detected() {
    assert_recovers("empty", |_, artifact| {
        std::fs::write(artifact, b"").unwrap()
    });
}

#[test]
fn a_missing_checksum_is_detected() {
    assert_recovers("no checksum", |_, artifact| {
        let mut sum = artifact.as_os_str().to_owned();
        sum.push(".sum");
        std::fs::remove_file(sum).unwrap();
    });
}

#[test]
fn another_digests_artifact_under_this_name_is_detected() {
    assert_recovers("another digest's artifact", |cache, artifact| {
        assert!(naas_describe(cache, "bgp_peering").status.success());
        let other = artifact_of(cache, "bgp_peering");
        let sum = |p: &Path| {
            let mut s = p.as_os_str().to_owned();
            s.push(".sum");
            PathBuf::from(s)
        };
        // Both the artifact and its checksum, copied over this digest's names.
        std::fs::copy(&other, artifact).unwrap();
        std::fs::copy(sum(&other), sum(artifact)).unwrap();
    });
}
