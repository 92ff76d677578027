/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal: ONNX protobuf field numbers (onnx/onnx.proto) and limits shared by the exporter
 * and the importer. */
#ifndef MNV2_ONNX_ONNX_H
#define MNV2_ONNX_ONNX_H

/* ModelProto */
#define ONNX_MODEL_IR_VERSION 1
#define ONNX_MODEL_PRODUCER_NAME 2
#define ONNX_MODEL_PRODUCER_VERSION 3
#define ONNX_MODEL_GRAPH 7
#define ONNX_MODEL_OPSET_IMPORT 8
#define ONNX_MODEL_METADATA 14
/* OperatorSetIdProto, StringStringEntryProto */
#define ONNX_OPSET_DOMAIN 1
#define ONNX_OPSET_VERSION 2
#define ONNX_ENTRY_KEY 1
#define ONNX_ENTRY_VALUE 2
/* GraphProto */
#define ONNX_GRAPH_NODE 1
#define ONNX_GRAPH_NAME 2
#define ONNX_GRAPH_INITIALIZER 5
#define ONNX_GRAPH_INPUT 11
#define ONNX_GRAPH_OUTPUT 12
/* NodeProto */
#define ONNX_NODE_INPUT 1
#define ONNX_NODE_OUTPUT 2
#define ONNX_NODE_NAME 3
#define ONNX_NODE_OP_TYPE 4
#define ONNX_NODE_ATTRIBUTE 5
#define ONNX_NODE_DOMAIN 7
/* AttributeProto */
#define ONNX_ATTR_NAME 1
#define ONNX_ATTR_F 2
#define ONNX_ATTR_I 3
#define ONNX_ATTR_S 4
#define ONNX_ATTR_T 5
#define ONNX_ATTR_FLOATS 7
#define ONNX_ATTR_INTS 8
#define ONNX_ATTR_TYPE 20
#define ONNX_ATTR_TYPE_FLOAT 1
#define ONNX_ATTR_TYPE_INT 2
#define ONNX_ATTR_TYPE_TENSOR 4
#define ONNX_ATTR_TYPE_INTS 7
/* TensorProto */
#define ONNX_TENSOR_DIMS 1
#define ONNX_TENSOR_DATA_TYPE 2
#define ONNX_TENSOR_FLOAT_DATA 4
#define ONNX_TENSOR_INT32_DATA 5
#define ONNX_TENSOR_INT64_DATA 7
#define ONNX_TENSOR_NAME 8
#define ONNX_TENSOR_RAW_DATA 9
#define ONNX_TENSOR_DOUBLE_DATA 10
#define ONNX_TENSOR_DATA_LOCATION 14
#define ONNX_DTYPE_FLOAT 1
#define ONNX_DTYPE_INT32 6
#define ONNX_DTYPE_INT64 7
#define ONNX_DTYPE_DOUBLE 11
/* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, its Dimension */
#define ONNX_VALUE_NAME 1
#define ONNX_VALUE_TYPE 2
#define ONNX_TYPE_TENSOR 1
#define ONNX_TTYPE_ELEM 1
#define ONNX_TTYPE_SHAPE 2
#define ONNX_SHAPE_DIM 1
#define ONNX_DIM_VALUE 1
#define ONNX_DIM_PARAM 2

#define MNV2__ONNX_OPSET 13
#define MNV2__ONNX_IR_VERSION 7

#endif
