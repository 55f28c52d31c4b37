// The expanded vjps of autodiff-families.mlir, run on the CPU and by the reference interpreter.
// RUN: mxir-opt %S/autodiff-families.mlir --split-input-file --mx-autodiff | %python %S/split_first.py 0 | mxir-run - --entry main "dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>" "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<1.0> : tensor<f32>" | FileCheck %s --check-prefix=SHAPE
// SHAPE: dense<[1.000000e+00, 3.000000e+00, 5.000000e+00, 2.000000e+00, 4.000000e+00, 6.000000e+00]>
// RUN: mxir-opt %S/autodiff-families.mlir --split-input-file --mx-autodiff | %python %S/split_first.py 1 | mxir-run - --entry main "dense<1.0> : tensor<2x3xf32>" "dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>" "dense<1.0> : tensor<f32>" | FileCheck %s --check-prefix=MATMUL
// MATMUL: dense<{{\[\[}}3.000000e+00, 7.000000e+00, 1.100000e+01], [3.000000e+00, 7.000000e+00, 1.100000e+01]]>
// RUN: mxir-opt %S/autodiff-families.mlir --split-input-file --mx-autodiff | %python %S/split_first.py 2 | mxir-run - --device reference --entry main "dense<[-1.0, 2.0, 3.0]> : tensor<3xf32>" "dense<1.0> : tensor<f32>" | FileCheck %s --check-prefix=SELECT
// SELECT: dense<[1.000000e+00, 4.000000e+00, 6.000000e+00]>
// RUN: mxir-opt %S/autodiff-families.mlir --split-input-file --mx-autodiff | %python %S/split_first.py 3 | mxir-run - --entry main "dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>" "dense<[0, 2, 0]> : tensor<3xi32>" "dense<1.0> : tensor<f32>" | FileCheck %s --check-prefix=TAKE
// TAKE: dense<[2.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00]> : tensor<4xf32>
// TAKE-NEXT: dense<0> : tensor<3xi32>
