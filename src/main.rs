fn main() {
    std::process::exit(rcompose::run());
}
