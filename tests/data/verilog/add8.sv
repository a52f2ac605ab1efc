// Combinational adder used by acc8_pipe.sv.
module add8 #(parameter int W = 8) (
    input  logic [W-1:0] a,
    input  logic [W-1:0] b,
    output logic [W:0]   s
);
    assign s = a + b;
endmodule
