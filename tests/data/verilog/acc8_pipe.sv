// An 8-bit two-stage adder/accumulator pipeline in SystemVerilog (logic, always_ff,
// a parameter and a sub-module in a second file, add8.sv), asynchronous active-low reset
// on a clock port named clk_i. Test input for `shiftadd synth --verilog` with .sv files.
module acc8_pipe #(parameter int W = 8) (
    input  logic           clk_i,
    input  logic           arst_ni,
    input  logic [W-1:0]   x,
    input  logic [W-1:0]   y,
    output logic [W+3:0]   total
);
    logic [W-1:0] x_q, y_q;
    logic [W:0]   sum;
    add8 #(.W(W)) u_add (.a(x_q), .b(y_q), .s(sum));
    always_ff @(posedge clk_i or negedge arst_ni) begin
        if (!arst_ni) begin
            x_q <= '0;
            y_q <= '0;
            total <= '0;
        end else begin
            x_q <= x;
            y_q <= y;
            total <= total + (W+4)'(sum);
        end
    end
endmodule
