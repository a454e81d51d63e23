"""Python's gRPC reflection client against the running sample, as a client with no .proto files:
the descriptors come from the server reflection service, the messages are built from them, and
each call's reply is checked. Usage: reflection_client.py <host:port>; exits non-zero on failure.
"""

import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

address = sys.argv[1]
channel = grpc.insecure_channel(address)
database = ProtoReflectionDescriptorDatabase(channel)
services = set(database.get_services())
for expected in ("com.example.fibonacci.Fibonacci", "com.example.shoppingcart.ShoppingCartService"):
    assert expected in services, f"{expected} is not listed by reflection: {services}"
pool = descriptor_pool.DescriptorPool(database)


def method(service, name):
    found = pool.FindServiceByName(service).FindMethodByName(name)
    request = message_factory.GetMessageClass(found.input_type)
    reply = message_factory.GetMessageClass(found.output_type)
    path = f"/{service}/{name}"
    call = (channel.unary_stream if found.server_streaming else channel.unary_unary)(
        path, request_serializer=request.SerializeToString, response_deserializer=reply.FromString
    )
    return lambda fields: call(json_format.ParseDict(fields, request()), timeout=10)


next_number = method("com.example.fibonacci.Fibonacci", "NextNumber")
assert next_number({"value": 5}).value == 8
try:
    next_number({"value": 7})
    raise AssertionError("7 was accepted")
except grpc.RpcError as error:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.code()
    assert error.details() == "Input number is not a Fibonacci number, received '7'", error.details()

next_numbers = method("com.example.fibonacci.Fibonacci", "NextNumbers")
assert [number.value for number in next_numbers({"value": 5})] == [8, 13, 21, 34, 55]

cart = "python-reflection-cart"
add = method("com.example.shoppingcart.ShoppingCartService", "AddItem")
get = method("com.example.shoppingcart.ShoppingCartService", "GetCart")
add({"cart_id": cart, "product_id": "mug", "name": "Mug", "quantity": 2})
add({"cart_id": cart, "product_id": "mug", "name": "Mug", "quantity": 3})
items = json_format.MessageToDict(get({"cart_id": cart}), preserving_proto_field_name=True)
assert items == {"items": [{"product_id": "mug", "name": "Mug", "quantity": 5}]}, items
print("python reflection client: ok")
