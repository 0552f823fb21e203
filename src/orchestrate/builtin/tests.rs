use super::mounts::*;
use super::select::*;
use crate::compose::model::{BindOptions, Mount, Port};
use crate::compose::model::{MountType, Service};
use std::path::PathBuf;

fn svc() -> Service {
    let bind = |s: &str, t: &str| Mount {
        kind: MountType::Bind,
        source: Some(s.into()),
        target: t.into(),
        read_only: false,
        bind: Some(BindOptions::default()),
        volume: None,
        tmpfs: None,
    };
    Service {
        name: "nginxproxy".into(),
        image: Some("nginx:alpine".into()),
        volumes: vec![
            bind("/p/nginx/nginx.conf", "/etc/nginx/nginx.conf"),
            bind("/p/frontend", "/usr/share/nginx/html"),
        ],
        ports: vec![
            Port {
                mode: "ingress".into(),
                host_ip: None,
                target: 80,
                published: Some("1000".into()),
                protocol: "tcp".into(),
            },
            Port {
                mode: "ingress".into(),
                host_ip: Some("127.0.0.1".into()),
                target: 8080,
                published: Some("2000".into()),
                protocol: "tcp".into(),
            },
        ],
        ..Default::default()
    }
}

#[test]
fn detection() {
    let s = svc();
    assert!(is_builtin_proxy(&s, false));
    assert!(!is_builtin_proxy(&s, true));
    for image in
        ["nginx", "nginx:1.25", "registry.local:5000/nginx:1", "nginxinc/nginx-unprivileged:stable"]
    {
        assert!(
            is_builtin_proxy(&Service { image: Some(image.into()), ..s.clone() }, false),
            "{image}"
        );
    }
    for image in ["nginxx", "my/nginx-proxy", "httpd"] {
        assert!(
            !is_builtin_proxy(&Service { image: Some(image.into()), ..s.clone() }, false),
            "{image}"
        );
    }
    let mut off = s.clone();
    off.x_rcompose = Some(crate::compose::model::RcomposeExt { builtin_proxy: Some(false) });
    assert!(!is_builtin_proxy(&off, false));
    let no_conf = Service { volumes: vec![s.volumes[1].clone()], ..s.clone() };
    assert!(!is_builtin_proxy(&no_conf, false));
}

#[test]
fn paths_through_mounts_and_ports() {
    let m = Mounts::of(&svc());
    assert_eq!(
        m.map("/usr/share/nginx/html/index.html"),
        Some(PathBuf::from("/p/frontend/index.html"))
    );
    assert_eq!(m.map("/usr/share/nginx/html"), Some(PathBuf::from("/p/frontend")));
    assert_eq!(m.map("/usr/share/nginx/htmlx"), None);
    assert_eq!(m.map("/etc/nginx/nginx.conf"), Some(PathBuf::from("/p/nginx/nginx.conf")));
    let s = svc();
    assert_eq!(listen_addrs(&s, None, 80), vec!["0.0.0.0:1000".parse().unwrap()]);
    assert_eq!(
        listen_addrs(&s, Some("::".parse().unwrap()), 80),
        vec!["[::]:1000".parse().unwrap()]
    );
    assert_eq!(listen_addrs(&s, None, 8080), vec!["127.0.0.1:2000".parse().unwrap()]);
    assert!(listen_addrs(&s, Some("::".parse().unwrap()), 8080).is_empty());
    assert!(listen_addrs(&s, None, 443).is_empty(), "unpublished ports are not opened");
}
