// What kalix-build generates for these `.proto` services, written out for the compile-fail cases
// (which have no build script):
//   service Fibonacci { rpc NextNumber(Number) returns (Number); rpc NextNumbers(Number) returns (stream Number); }
//   service Carts { rpc GetCart(GetCart) returns (Cart); }
pub mod proto {
    use kalix_core::grpc::{Method, MethodInfo, ServerStreaming, Unary};

    #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
    pub struct Number {
        pub value: i64,
    }

    #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
    pub struct GetCart {
        pub cart_id: String,
    }

    #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
    pub struct Cart {
        pub items: Vec<String>,
    }

    const fn info(path: &'static str, server_streaming: bool) -> MethodInfo {
        MethodInfo {
            service: "",
            name: "",
            path,
            server_streaming,
            client_streaming: false,
            http: None,
            decode: |_| Ok(serde_json::Value::Null),
            encode: |_| Ok(Vec::new()),
        }
    }

    pub struct Fibonacci;

    #[allow(non_upper_case_globals)]
    impl Fibonacci {
        pub const NextNumber: Method<Number, Number, Unary> =
            Method::new(&info("/Fibonacci/NextNumber", false));
        pub const NextNumbers: Method<Number, Number, ServerStreaming> =
            Method::new(&info("/Fibonacci/NextNumbers", true));
    }

    pub struct Carts;

    #[allow(non_upper_case_globals)]
    impl Carts {
        pub const GetCart: Method<GetCart, Cart, Unary> = Method::new(&info("/Carts/GetCart", false));
    }
}
