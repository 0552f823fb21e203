use std::time::Duration;

use super::types::pool_of;
use super::values::parse_secs;
use super::*;
use crate::proxy::conf::{AsWritten, parse_text};

pub(super) fn compile_str(text: &str) -> Result<Config, ConfError> {
    let d = parse_text(text, "nginx.conf".into(), Path::new("/etc/nginx"), &AsWritten, 0)?;
    compile(&d)
}

#[test]
fn example_configuration_compiles() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/fastapi-mongo/nginx/nginx.conf"
    ))
    .unwrap();
    let c = compile_str(&text).unwrap();
    assert_eq!(c.worker_connections, 128);
    let s = &c.http.servers[0];
    assert_eq!(s.listens.len(), 2);
    assert_eq!(s.listens[1].addr, Some("::".parse().unwrap()));
    assert!(s.names.is_empty(), "`$host:1000` matches no name");
    let api = s
        .locations
        .iter()
        .find(|l| matches!(&l.matcher, Matcher::Prefix { path, .. } if path == "/api/"))
        .unwrap();
    let p = api.proxy.as_ref().unwrap();
    assert_eq!((p.target.as_str(), p.uri.as_deref()), ("docker-fastapi", Some("/")));
    assert!(!api.conf.proxy_buffering);
    assert_eq!(api.conf.proxy_set_headers.len(), 5);
    assert_eq!(api.conf.types.get("js").map(String::as_str), Some("application/javascript"));
    assert_eq!(c.http.upstreams["docker-fastapi"].servers[0].port, 7000);
    assert_eq!(s.conf.error_pages[0].codes, vec![500, 502, 503, 504]);
    assert_eq!(s.conf.keepalive_timeout, Duration::from_secs(500));
}

#[test]
fn proxy_ignore_headers_takes_nginx_names_and_is_inherited() {
    let c = compile_str(
        "http { proxy_ignore_headers x-accel-redirect Expires; server { location /a/ { proxy_pass http://b/; } \
         location /b/ { proxy_ignore_headers Vary; proxy_pass http://b/; } } }",
    )
    .unwrap();
    let ignored: Vec<bool> =
        c.http.servers[0].locations.iter().map(|l| l.conf.ignore_accel_redirect).collect();
    assert_eq!(ignored, vec![true, false]);
    let e = compile_str(
        "http { server { location / { proxy_ignore_headers X-Accel-Redirect Bogus; } } }",
    )
    .unwrap_err();
    assert!(e.to_string().contains("invalid value \"Bogus\" in \"proxy_ignore_headers\""), "{e}");
}

#[test]
fn proxy_host_keeps_the_port_only_when_it_is_not_80() {
    let c = compile_str(
        "http { upstream backend { server 127.0.0.1:81; } server { location /a/ { proxy_pass http://[::1]/; } \
         location /b/ { proxy_pass http://[::1]:8080/; } location /c/ { proxy_pass http://example.com:80/; } \
         location /d/ { proxy_pass http://example.com:81; } location /e/ { proxy_pass http://backend/; } } }",
    )
    .unwrap();
    let hosts: Vec<&str> = c.http.servers[0]
        .locations
        .iter()
        .map(|l| &*l.proxy.as_ref().unwrap().proxy_host)
        .collect();
    assert_eq!(hosts, vec!["[::1]", "[::1]:8080", "example.com", "example.com:81", "backend"]);
}

#[test]
fn inheritance_replaces_arrays() {
    let c =
        compile_str("http { proxy_set_header A 1; add_header X y; server { location / { proxy_set_header B 2; } location /keep/ { } } }")
            .unwrap();
    let s = &c.http.servers[0];
    assert_eq!(
        s.locations[0].conf.proxy_set_headers.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        vec!["B"]
    );
    assert_eq!(
        s.locations[1].conf.proxy_set_headers.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(),
        vec!["A"]
    );
    assert_eq!(s.locations[0].conf.add_headers.len(), 1);
}

#[test]
fn errors_name_directive_file_and_line() {
    let e = compile_str("http {\n  server {\n    listen 80;\n    ssl_verify_client on;\n  }\n}\n")
        .unwrap_err();
    assert_eq!(e.loc.line, 4);
    assert!(
        e.message.contains("\"ssl_verify_client\"")
            && e.is_unsupported()
            && e.to_string().contains("--no-builtin-proxy"),
        "{e}"
    );
    let e =
        compile_str("http { server { location ~ ^/a { proxy_pass http://b/x; } } }").unwrap_err();
    assert!(e.message.contains("cannot have URI part"), "{e}");
    let e = compile_str("http { server { location / { root $nosuchvar; } } }").unwrap_err();
    assert!(e.message.contains("unknown \"nosuchvar\" variable"), "{e}");
    let e = compile_str("http { upstream u { server a:99999; } }").unwrap_err();
    assert!(e.message.contains("invalid port"), "{e}");
    let e = compile_str("http { server { location / { proxy_pass http://:80; } } }").unwrap_err();
    assert!(e.message.contains("no host"), "{e}");
}

#[test]
fn ignored_directives_and_values() {
    let c = compile_str("user nobody; pid /run/x.pid; worker_processes 3; events { use epoll; worker_connections 64; } http { tcp_nopush on; client_max_body_size 2m; upstream u { server a:1 weight=3 max_fails=2 fail_timeout=5s; server b backup; keepalive 16; } }").unwrap();
    assert_eq!((c.workers, c.worker_connections), (3, 64));
    let u = &c.http.upstreams["u"];
    assert_eq!(
        (u.servers[0].weight, u.servers[0].max_fails, u.servers[0].fail_timeout),
        (3, 2, Duration::from_secs(5))
    );
    assert!(u.servers[1].backup && u.servers[1].port == 80);
    assert_eq!(
        u.keepalive,
        Keepalive { idle: 16, pool: Some(pool_of("u")), ..Keepalive::default() }
    );
    let c = compile_str(
        "events {} http { upstream u { server a; keepalive 2; keepalive_timeout 5s; keepalive_requests 3; keepalive_time 1m; } }",
    )
    .unwrap();
    let limits = Keepalive {
        idle: 2,
        pool: Some(pool_of("u")),
        timeout: Duration::from_secs(5),
        requests: 3,
        time: Duration::from_secs(60),
    };
    assert_eq!(c.http.upstreams["u"].keepalive, limits);
    let two = compile_str("events {} http { upstream u { server a; } upstream v { server a; } }")
        .unwrap();
    assert_ne!(
        two.http.upstreams["u"].keepalive.pool, two.http.upstreams["v"].keepalive.pool,
        "one pool per block"
    );
    assert!(
        compile_str("events {} http { upstream u { server a; keepalive 0; } }").is_err(),
        "nginx refuses 0"
    );
    assert_eq!(parse_time("1h30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_size("2m"), Some(2 << 20));
    assert_eq!(parse_size("3980433795905195568k"), None, "overflows");
    assert_eq!(parse_size("17179869184g"), None, "overflows");
    assert_eq!(parse_size("16777215g"), Some(16777215 << 30));
    // As nginx 1.22 -t answers: units in order and once each; `y`/`M` only
    // in seconds, `ms` only in milliseconds; a bare number is seconds.
    assert_eq!(parse_time("5000000000s"), Some(Duration::from_secs(5_000_000_000)));
    assert_eq!(parse_time("4294967295w4294967295w"), None);
    assert_eq!(parse_time("1h 30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_time("1s500ms"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_time("30 5"), Some(Duration::from_secs(35)));
    assert_eq!(parse_time("1y"), None);
    assert_eq!(parse_time("12M"), None);
    assert_eq!(parse_secs("1y"), Some(365 * 86_400));
    assert_eq!(parse_secs("12M"), Some(360 * 86_400));
    assert_eq!(parse_secs("500ms"), None);
    assert_eq!(parse_secs("1d12h"), Some(129_600));
    assert_eq!(parse_time("99999999999999999999"), None, "overflows");
}

#[test]
fn a_rewrite_takes_the_shortcut_only_where_it_gives_the_engines_captures() {
    use super::types::{RewriteRegex, prefix_shape};
    assert_eq!(prefix_shape("^/api(/.*)$"), Some(("/api".into(), "/".into())));
    assert_eq!(prefix_shape("^(.*)$"), Some((String::new(), String::new())));
    assert_eq!(prefix_shape("^/a\\.b(.*)$"), Some(("/a.b".into(), String::new())));
    for other in [
        "^/api(/.*)",
        "/api(/.*)$",
        "^/api(/.+)$",
        "^/api(/.*?)$",
        "(?i)^/api(/.*)$",
        "^/(a)(.*)$",
        "^/api(/[^x]*)$",
        "^/api(?s:/.*)$",
    ] {
        assert_eq!(prefix_shape(other), None, "{other}");
    }
    let patterns = [
        "^/api(/.*)$",
        "^(.*)$",
        "^/a\\.b(.*)$",
        "^/x(y.*)$",
        "^/api(/.+)$",
        "(?i)^/API(/.*)$",
        "^/(a)(.*)$",
    ];
    let subjects = [
        "/api/items",
        "/api",
        "/api/",
        "/apix",
        "/api/a\nb",
        "/api/a\n",
        "/API/items",
        "/a.b",
        "/a.bc",
        "/axb",
        "/xy",
        "/x",
        "",
        "/",
        "/api/\u{e9}t\u{e9}",
    ];
    for p in patterns {
        let r = RewriteRegex::new(regex::Regex::new(p).unwrap(), p);
        for s in subjects {
            let engine =
                r.regex.captures(s).map(|c| crate::proxy::vars::Captures::from_regex(s, &c));
            assert_eq!(r.captures(s), engine, "{p} on {s:?}");
        }
    }
}

#[test]
fn what_nginx_t_refuses_is_refused_in_its_words() {
    let refused = |body: &str| {
        compile_str(&format!("http {{ server {{ listen 8080; {body} }} }}")).unwrap_err().message
    };
    assert_eq!(refused("location /x { } location /x { }"), "duplicate location \"/x\"");
    assert_eq!(refused("location = /x { } location = /x { }"), "duplicate location \"/x\"");
    assert_eq!(refused("location /x { } location ^~ /x { }"), "duplicate location \"/x\"");
    assert_eq!(
        refused("location /a { location /a/b { } location /a/b { } }"),
        "duplicate location \"/a/b\""
    );
    assert_eq!(refused("listen :0;"), "invalid port in \":0\" of the \"listen\" directive");
    assert_eq!(refused("listen 0;"), "invalid port in \"0\" of the \"listen\" directive");
    assert_eq!(
        refused("return 200 \"${uri\";"),
        "the closing bracket in \"uri\" variable is missing"
    );
    assert_eq!(
        refused("return 200 \"${ uri}\";"),
        "the closing bracket in \"\" variable is missing"
    );
    assert_eq!(refused("return 200 \"a$\";"), "invalid variable name");
    assert_eq!(refused("return 200 \"${}\";"), "invalid variable name");
    // What nginx takes: repeated regexes and named locations, one default per address.
    assert!(
        compile_str(
            "http { server { location ~ a { } location ~ a { } location @n { } location @n { } } }"
        )
        .is_ok()
    );
    assert!(compile_str("http { server { listen 80 default_server; } server { listen 127.0.0.1:80 default_server; } }").is_ok());
    let e = compile_str(
        "http { server { listen 80 default_server; } server { listen 80 default_server; } }",
    )
    .unwrap_err();
    assert_eq!(e.message, "a duplicate default server for 0.0.0.0:80");
}

#[test]
fn what_nginx_accepts_is_served_or_left_to_nginx_never_refused() {
    let loc = |body: &str| compile_str(&format!("http {{ server {{ location / {{ {body} }} }} }}"));
    // Served: nginx's time units in seconds, and the variables rcompose sets.
    for ok in [
        "expires 1y;",
        "expires 12M;",
        "expires -1d12h;",
        "add_header X-Id $request_id;",
        "add_header X-A $binary_remote_addr$realip_remote_addr$https;",
        "add_header X-C $upstream_cache_status$gzip_ratio$upstream_header_time;",
        "add_header X-U $upstream_http_x_thing$upstream_cookie_sid$request_body;",
        "add_header X-S $ssl_client_s_dn$ssl_client_verify$ssl_ciphers$ssl_curves$ssl_session_id;",
        "add_header X-T $upstream_trailer_x$sent_trailer_y$proxy_protocol_addr;",
        "add_header X-P $pipe$connection_time$request_completion$tcpinfo_rtt$tcpinfo_rcv_space;",
        "add_header X-B $upstream_bytes_sent$upstream_bytes_received$proxy_internal_body_length;",
        "proxy_next_upstream error timeout http_502 non_idempotent; proxy_next_upstream_tries 3;",
    ] {
        assert!(loc(ok).is_ok(), "{ok}: {:?}", loc(ok).err());
    }
    // nginx's to do: the fallback to the nginx container, not an error.
    for theirs in [
        "expires modified 1h;",
        "expires @15h30m;",
        "add_header X-F $request_body_file;",
        "add_header X-L $secure_link;",
        "ssi on;",
    ] {
        let text = format!("http {{ server {{ location / {{ {theirs} }} }} }}");
        let e = compile_str(&text).expect_err(theirs);
        assert!(e.is_unsupported(), "{theirs}: {e}");
    }
    // What nginx -t refuses stays an error.
    for bad in [
        "expires 1ms;",
        "expires 1h1y;",
        "add_header X $no_such_variable;",
        "proxy_next_upstream http_418;",
        "proxy_next_upstream off error;",
    ] {
        let e = loc(bad).expect_err(bad);
        assert!(!e.is_unsupported(), "{bad}: {e}");
    }
}
