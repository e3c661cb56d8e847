//! The one fact relman needs from an ELF executable: the dynamic loader it asks the kernel for
//! (`PT_INTERP`), so an image whose base lacks it is refused at build time instead of failing
//! with `exec …: no such file or directory` when it runs.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

const PT_INTERP: u32 = 3;
/// More program headers than any real executable has; a bound for a corrupt file.
const MAX_PHNUM: u64 = 4096;

/// The `PT_INTERP` path of the ELF file at `path` (`/lib64/ld-linux-x86-64.so.2`), `None` for
/// a static executable or a file that is not ELF (a script, say).
pub fn interpreter(path: &Path) -> io::Result<Option<String>> {
    let mut f = File::open(path)?;
    let mut ident = [0u8; 64];
    let n = read_up_to(&mut f, &mut ident)?;
    if n < 52 || &ident[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let wide = match ident[4] {
        1 => false,
        2 => true,
        _ => return Ok(None),
    };
    let little = match ident[5] {
        1 => true,
        2 => false,
        _ => return Ok(None),
    };
    let u16_at = |o: usize| {
        let b = [ident[o], ident[o + 1]];
        u64::from(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    };
    let u32_of = |b: &[u8]| {
        let b: [u8; 4] = b[..4].try_into().expect("4 bytes");
        u64::from(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let u64_of = |b: &[u8]| {
        let b: [u8; 8] = b[..8].try_into().expect("8 bytes");
        if little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        }
    };
    let (phoff, phentsize, phnum) = if wide {
        if n < 64 {
            return Ok(None);
        }
        (u64_of(&ident[32..]), u16_at(54), u16_at(56))
    } else {
        (u32_of(&ident[28..]), u16_at(42), u16_at(44))
    };
    let min_entry = if wide { 56 } else { 32 };
    if phentsize < min_entry || phnum > MAX_PHNUM {
        return Ok(None);
    }
    let len = f.metadata()?.len();
    let mut ph = vec![0u8; phentsize as usize];
    for i in 0..phnum {
        // A corrupt header pointing past the file (or past u64) is "not an executable we know".
        let Some(at) = i.checked_mul(phentsize).and_then(|o| o.checked_add(phoff)).filter(|at| *at < len) else {
            return Ok(None);
        };
        f.seek(SeekFrom::Start(at))?;
        if read_up_to(&mut f, &mut ph)? < ph.len() {
            return Ok(None);
        }
        if u32_of(&ph[0..]) != u64::from(PT_INTERP) {
            continue;
        }
        let (offset, size) =
            if wide { (u64_of(&ph[8..]), u64_of(&ph[32..])) } else { (u32_of(&ph[4..]), u32_of(&ph[16..])) };
        if size == 0 || size > 4096 || offset >= len {
            return Ok(None);
        }
        let mut s = vec![0u8; size as usize];
        f.seek(SeekFrom::Start(offset))?;
        if read_up_to(&mut f, &mut s)? < s.len() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&s).trim_end_matches('\0').to_string();
        return Ok(Some(text).filter(|t| t.starts_with('/')));
    }
    Ok(None)
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_static_and_not_elf() {
        // This machine's own executables: the test binary is dynamically linked (glibc).
        let me = std::env::current_exe().unwrap();
        let interp = interpreter(&me).unwrap().expect("a dynamic executable has an interpreter");
        assert!(interp.starts_with('/') && interp.contains("ld"), "{interp}");
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(interpreter(&script).unwrap(), None);
        let short = dir.path().join("short");
        std::fs::write(&short, b"\x7fELF\x02\x01").unwrap();
        assert_eq!(interpreter(&short).unwrap(), None, "truncated");
        // A copy with its program headers cut off: no interpreter found, no panic.
        let bytes = std::fs::read(&me).unwrap();
        let cut = dir.path().join("cut");
        std::fs::write(&cut, &bytes[..100]).unwrap();
        assert_eq!(interpreter(&cut).unwrap(), None);
        // Program headers said to be at the end of u64: no overflow, no seek error.
        let mut wild = bytes[..64].to_vec();
        wild[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        let wild_path = dir.path().join("wild");
        std::fs::write(&wild_path, &wild).unwrap();
        assert_eq!(interpreter(&wild_path).unwrap(), None);
        // A 32-bit big-endian executable (as for linux/ppc or mips), built by hand.
        let mut be32 = vec![0u8; 84];
        be32[..6].copy_from_slice(b"\x7fELF\x01\x02");
        be32[28..32].copy_from_slice(&52u32.to_be_bytes()); // e_phoff
        be32[42..44].copy_from_slice(&32u16.to_be_bytes()); // e_phentsize
        be32[44..46].copy_from_slice(&1u16.to_be_bytes()); // e_phnum
        be32[52..56].copy_from_slice(&3u32.to_be_bytes()); // PT_INTERP
        be32[56..60].copy_from_slice(&84u32.to_be_bytes()); // p_offset
        be32[68..72].copy_from_slice(&13u32.to_be_bytes()); // p_filesz
        be32.extend_from_slice(b"/lib/ld.so.1\0");
        let be32_path = dir.path().join("be32");
        std::fs::write(&be32_path, &be32).unwrap();
        assert_eq!(interpreter(&be32_path).unwrap().as_deref(), Some("/lib/ld.so.1"));
        if std::path::Path::new("/bin/busybox").is_file() {
            assert_eq!(interpreter(std::path::Path::new("/bin/busybox")).unwrap(), None, "busybox-static");
        }
    }
}
