from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_FORMAT_UNSPECIFIED: _ClassVar[ImageFormat]
    IMAGE_FORMAT_TENSOR: _ClassVar[ImageFormat]
    IMAGE_FORMAT_PNG: _ClassVar[ImageFormat]

class InterpolationMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERPOLATION_METHOD_UNSPECIFIED: _ClassVar[InterpolationMethod]
    INTERPOLATION_METHOD_LINEAR: _ClassVar[InterpolationMethod]
    INTERPOLATION_METHOD_SPHERICAL: _ClassVar[InterpolationMethod]

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_LOADING: _ClassVar[ModelState]
    MODEL_STATE_READY: _ClassVar[ModelState]
    MODEL_STATE_FAILED: _ClassVar[ModelState]
IMAGE_FORMAT_UNSPECIFIED: ImageFormat
IMAGE_FORMAT_TENSOR: ImageFormat
IMAGE_FORMAT_PNG: ImageFormat
INTERPOLATION_METHOD_UNSPECIFIED: InterpolationMethod
INTERPOLATION_METHOD_LINEAR: InterpolationMethod
INTERPOLATION_METHOD_SPHERICAL: InterpolationMethod
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_LOADING: ModelState
MODEL_STATE_READY: ModelState
MODEL_STATE_FAILED: ModelState

class Tensor(_message.Message):
    __slots__ = ("shape", "data")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Images(_message.Message):
    __slots__ = ("tensor", "png")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    tensor: Tensor
    png: PngImages
    def __init__(self, tensor: _Optional[_Union[Tensor, _Mapping]] = ..., png: _Optional[_Union[PngImages, _Mapping]] = ...) -> None: ...

class PngImages(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, images: _Optional[_Iterable[bytes]] = ...) -> None: ...

class EncodeRequest(_message.Message):
    __slots__ = ("model_name", "model_version", "images", "sample", "seed")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    images: Images
    sample: bool
    seed: int
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., images: _Optional[_Union[Images, _Mapping]] = ..., sample: _Optional[bool] = ..., seed: _Optional[int] = ...) -> None: ...

class EncodeResponse(_message.Message):
    __slots__ = ("model_name", "model_version", "mean", "log_var", "z", "seed")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    LOG_VAR_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    mean: Tensor
    log_var: Tensor
    z: Tensor
    seed: int
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., mean: _Optional[_Union[Tensor, _Mapping]] = ..., log_var: _Optional[_Union[Tensor, _Mapping]] = ..., z: _Optional[_Union[Tensor, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class DecodeRequest(_message.Message):
    __slots__ = ("model_name", "model_version", "latents", "image_format")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATENTS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    latents: Tensor
    image_format: ImageFormat
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., latents: _Optional[_Union[Tensor, _Mapping]] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class DecodeResponse(_message.Message):
    __slots__ = ("model_name", "model_version", "images")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    images: Images
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., images: _Optional[_Union[Images, _Mapping]] = ...) -> None: ...

class SampleRequest(_message.Message):
    __slots__ = ("model_name", "model_version", "count", "seed", "temperature", "image_format")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    count: int
    seed: int
    temperature: float
    image_format: ImageFormat
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., count: _Optional[int] = ..., seed: _Optional[int] = ..., temperature: _Optional[float] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class SampleResponse(_message.Message):
    __slots__ = ("model_name", "model_version", "latents", "images", "seed")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATENTS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    latents: Tensor
    images: Images
    seed: int
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., latents: _Optional[_Union[Tensor, _Mapping]] = ..., images: _Optional[_Union[Images, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class InterpolateRequest(_message.Message):
    __slots__ = ("model_name", "model_version", "images", "latents", "steps", "method", "image_format")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    LATENTS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    images: Images
    latents: Tensor
    steps: int
    method: InterpolationMethod
    image_format: ImageFormat
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., images: _Optional[_Union[Images, _Mapping]] = ..., latents: _Optional[_Union[Tensor, _Mapping]] = ..., steps: _Optional[int] = ..., method: _Optional[_Union[InterpolationMethod, str]] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class InterpolateResponse(_message.Message):
    __slots__ = ("model_name", "model_version", "latents", "images")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATENTS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    latents: Tensor
    images: Images
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., latents: _Optional[_Union[Tensor, _Mapping]] = ..., images: _Optional[_Union[Images, _Mapping]] = ...) -> None: ...

class ReconstructRequest(_message.Message):
    __slots__ = ("model_name", "model_version", "images", "image_format")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    images: Images
    image_format: ImageFormat
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., images: _Optional[_Union[Images, _Mapping]] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class ReconstructResponse(_message.Message):
    __slots__ = ("model_name", "model_version", "images", "mean")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    images: Images
    mean: Tensor
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., images: _Optional[_Union[Images, _Mapping]] = ..., mean: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelVersionStatus]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelVersionStatus, _Mapping]]] = ...) -> None: ...

class ModelVersionStatus(_message.Message):
    __slots__ = ("name", "version", "state", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    state: ModelState
    reason: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., state: _Optional[_Union[ModelState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ("model_name", "model_version")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    model_version: int
    def __init__(self, model_name: _Optional[str] = ..., model_version: _Optional[int] = ...) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ("name", "version", "versions", "latent_dim", "channels", "height", "width", "likelihood", "dataset", "class_names", "execution_provider", "test_negative_elbo_nats", "epochs", "max_items_per_request", "max_request_bytes", "manifest_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    LATENT_DIM_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TEST_NEGATIVE_ELBO_NATS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    versions: _containers.RepeatedScalarFieldContainer[int]
    latent_dim: int
    channels: int
    height: int
    width: int
    likelihood: str
    dataset: str
    class_names: _containers.RepeatedScalarFieldContainer[str]
    execution_provider: str
    test_negative_elbo_nats: float
    epochs: int
    max_items_per_request: int
    max_request_bytes: int
    manifest_json: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., versions: _Optional[_Iterable[int]] = ..., latent_dim: _Optional[int] = ..., channels: _Optional[int] = ..., height: _Optional[int] = ..., width: _Optional[int] = ..., likelihood: _Optional[str] = ..., dataset: _Optional[str] = ..., class_names: _Optional[_Iterable[str]] = ..., execution_provider: _Optional[str] = ..., test_negative_elbo_nats: _Optional[float] = ..., epochs: _Optional[int] = ..., max_items_per_request: _Optional[int] = ..., max_request_bytes: _Optional[int] = ..., manifest_json: _Optional[str] = ...) -> None: ...
