//! `auth_basic`: credentials from the Authorization header, checked against
//! an htpasswd file as nginx's `ngx_crypt` checks them: `$apr1$` (Apache's
//! MD5), `{PLAIN}`, `{SHA}`, `{SSHA}`, and crypt(3)'s formats (DES, `$1$`,
//! `$5$`, `$6$`, bcrypt `$2y$`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use sha1::Sha1;

/// The user and password of a `Basic` Authorization value.
pub fn credentials(authorization: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(authorization).ok()?.trim_start();
    let (scheme, rest) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Whether the htpasswd `file` (its text) lets `user` in with `pass`:
/// `user:hash` lines, `#` comments, as nginx reads them.
pub fn allowed(file: &str, user: &str, pass: &str) -> bool {
    file.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .find(|(u, _)| *u == user)
        .is_some_and(|(_, rest)| {
            // A third field (a comment) may follow the hash.
            let hash = rest.split(':').next().unwrap_or_default();
            verify(pass, hash)
        })
}

/// Whether `pass` matches `hash` in one of the formats nginx knows.
pub fn verify(pass: &str, hash: &str) -> bool {
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next().unwrap_or_default();
        return md5_crypt(pass.as_bytes(), salt.as_bytes(), b"$apr1$") == hash;
    }
    if let Some(plain) = hash.strip_prefix("{PLAIN}") {
        return plain == pass;
    }
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        return STANDARD.encode(Sha1::digest(pass.as_bytes())) == b64;
    }
    if let Some(b64) = hash.strip_prefix("{SSHA}") {
        let Ok(raw) = STANDARD.decode(b64) else { return false };
        if raw.len() < 20 {
            return false;
        }
        let (digest, salt) = raw.split_at(20);
        let mut h = Sha1::new();
        h.update(pass.as_bytes());
        h.update(salt);
        return h.finalize().as_slice() == digest;
    }
    pwhash::unix::verify(pass, hash)
}

/// The MD5 crypt of FreeBSD and Apache: `magic` is `$1$` or `$apr1$`.
fn md5_crypt(pw: &[u8], salt: &[u8], magic: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let alt = {
        let mut h = Md5::new();
        h.update(pw);
        h.update(salt);
        h.update(pw);
        h.finalize()
    };
    let mut h = Md5::new();
    h.update(pw);
    h.update(magic);
    h.update(salt);
    for chunk in pw.chunks(16) {
        h.update(&alt[..chunk.len()]);
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            h.update([0u8])
        } else {
            h.update(&pw[..1])
        }
        i >>= 1;
    }
    let mut fin = h.finalize();
    for round in 0..1000 {
        let mut h = Md5::new();
        if round & 1 == 1 {
            h.update(pw)
        } else {
            h.update(fin)
        }
        if round % 3 != 0 {
            h.update(salt);
        }
        if round % 7 != 0 {
            h.update(pw);
        }
        if round & 1 == 1 {
            h.update(fin)
        } else {
            h.update(pw)
        }
        fin = h.finalize();
    }
    const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::from_utf8_lossy(magic).into_owned();
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut put = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(char::from(ITOA64[(v & 0x3f) as usize]));
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put(u32::from(fin[a]) << 16 | u32::from(fin[b]) << 8 | u32::from(fin[c]), 4);
    }
    put(u32::from(fin[11]), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_htpasswd_and_openssl_make_them() {
        // `openssl passwd -apr1 -salt abcdefgh secret`, `-1`, `-6`, and htpasswd -s / -B.
        assert!(verify("secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/"));
        assert!(!verify("Secret", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/"));
        assert!(verify("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="));
        assert!(verify("secret", "{PLAIN}secret"));
        assert!(!verify("secret", "{PLAIN}other"));
        assert_eq!(credentials(b"Basic dXNlcjpwYTpzcw=="), Some(("user".into(), "pa:ss".into())));
        assert_eq!(credentials(b"Bearer x"), None);
        let file = "# users\nalice:{PLAIN}a\nbob:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/:comment\n";
        assert!(allowed(file, "bob", "secret") && allowed(file, "alice", "a"));
        assert!(!allowed(file, "carol", "a") && !allowed(file, "alice", "b"));
    }
}
