//! Compiles the service's `.proto` files: messages, method constants, clients, descriptors.

fn main() -> std::io::Result<()> {
    kalix_build::compile_protos(&["proto/fibonacci.proto", "proto/shoppingcart.proto"])
}
